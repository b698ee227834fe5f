"""Plain-text, rustc-style rendering of diagnostics (no ANSI: the CLI adds colour).

Every part that can hold input (the message, the source line, help and notes) is passed through
`visible`, so a control character in a rule file is shown as `\x1b`, never sent to a terminal;
the caret is placed under the escaped line.
"""

from __future__ import annotations

from collections.abc import Iterable

from policylang.errors import Diagnostic
from policylang.terminal import visible


def render(diagnostic: Diagnostic) -> str:
    head = f"{diagnostic.severity}[{diagnostic.code}]: {visible(diagnostic.message)}"
    span = diagnostic.span
    help_text = visible(diagnostic.help) if diagnostic.help else None
    lines = [head]
    if span is not None and span.source.text:
        line, column = span.source.line_col(span.start)
        source_line = span.source.line_text(line)
        gutter = " " * len(str(line))
        width = max(1, min(span.end - span.start, len(source_line) - column + 1))
        before = visible(source_line[: column - 1])
        marked = visible(source_line[column - 1 : column - 1 + width])
        caret = " " * len(before) + "^" * max(1, len(marked))
        if help_text:
            caret += f" help: {help_text}"
        lines += [
            f"{gutter}--> {visible(span.source.name)}:{line}:{column}",
            f"{gutter} |",
            f"{line} | {visible(source_line)}",
            f"{gutter} | {caret}",
        ]
    elif span is not None:
        lines.append(f" --> {visible(span.location())}")
        if help_text:
            lines.append(f"  = help: {help_text}")
    elif help_text:
        lines.append(f"  = help: {help_text}")
    for note in diagnostic.notes:
        lines.append(f"  = note: {visible(note)}")
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic]) -> str:
    items = list(diagnostics)
    text = "\n\n".join(render(d) for d in items)
    errors = sum(1 for d in items if d.severity == "error")
    if errors > 1:
        text += f"\n\n{errors} errors"
    return text

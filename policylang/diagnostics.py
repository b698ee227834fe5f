"""Plain-text, rustc-style rendering of diagnostics (no ANSI: the CLI adds colour)."""

from __future__ import annotations

from collections.abc import Iterable

from policylang.errors import Diagnostic


def render(diagnostic: Diagnostic) -> str:
    head = f"{diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"
    span = diagnostic.span
    lines = [head]
    if span is not None and span.source.text:
        line, column = span.source.line_col(span.start)
        source_line = span.source.line_text(line)
        gutter = " " * len(str(line))
        width = max(1, min(span.end - span.start, len(source_line) - column + 1))
        caret = " " * (column - 1) + "^" * width
        if diagnostic.help:
            caret += f" help: {diagnostic.help}"
        lines += [
            f"{gutter}--> {span.source.name}:{line}:{column}",
            f"{gutter} |",
            f"{line} | {source_line}",
            f"{gutter} | {caret}",
        ]
    elif span is not None:
        lines.append(f" --> {span.location()}")
        if diagnostic.help:
            lines.append(f"  = help: {diagnostic.help}")
    elif diagnostic.help:
        lines.append(f"  = help: {diagnostic.help}")
    for note in diagnostic.notes:
        lines.append(f"  = note: {note}")
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic]) -> str:
    items = list(diagnostics)
    text = "\n\n".join(render(d) for d in items)
    errors = sum(1 for d in items if d.severity == "error")
    if errors > 1:
        text += f"\n\n{errors} errors"
    return text

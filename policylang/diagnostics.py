"""Plain-text, rustc-style rendering of diagnostics (no ANSI: the CLI adds colour).

Every part that can hold input (the message, the source line, help and notes) is passed through
`visible`, so a control character in a rule file is shown as `\x1b`, never sent to a terminal;
the caret is placed under the escaped line.
"""

from __future__ import annotations

from collections.abc import Iterable

from policylang.errors import MAX_DIAGNOSTICS_PER_FILE, Diagnostic
from policylang.terminal import visible

# A quoted source line is cut to this many characters around the caret, so a diagnostic's size
# does not grow with the length of the line (a 300 KB line quoted once per error would not fit).
MAX_QUOTED_CHARS = 120
_BEFORE_CARET = 40


def _window(source_line: str, column: int, width: int) -> tuple[str, int, int]:
    """The part of a long line shown around a caret at `column` (1-based) spanning `width`
    characters: the text (with `...` where it was cut), and the caret's column and width in it."""
    if len(source_line) <= MAX_QUOTED_CHARS:
        return source_line, column, width
    first = max(0, column - 1 - _BEFORE_CARET)
    shown = source_line[first : first + MAX_QUOTED_CHARS]
    prefix = "..." if first > 0 else ""
    suffix = "..." if first + MAX_QUOTED_CHARS < len(source_line) else ""
    caret_column = column - first + len(prefix)
    caret_width = max(1, min(width, len(shown) - (column - 1 - first)))
    return prefix + shown + suffix, caret_column, caret_width


def render(diagnostic: Diagnostic) -> str:
    head = f"{diagnostic.severity}[{diagnostic.code}]: {visible(diagnostic.message)}"
    span = diagnostic.span
    help_text = visible(diagnostic.help) if diagnostic.help else None
    lines = [head]
    if span is not None and span.source.text:
        line, column = span.source.line_col(span.start)
        full_line = span.source.line_text(line)
        gutter = " " * len(str(line))
        width = max(1, min(span.end - span.start, len(full_line) - column + 1))
        source_line, caret_column, width = _window(full_line, column, width)
        before = visible(source_line[: caret_column - 1])
        marked = visible(source_line[caret_column - 1 : caret_column - 1 + width])
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


def omitted_note(omitted: int) -> str:
    return f"{omitted} more errors not shown (at most {MAX_DIAGNOSTICS_PER_FILE} per file)"


def render_all(diagnostics: Iterable[Diagnostic], omitted: int = 0) -> str:
    items = list(diagnostics)
    text = "\n\n".join(render(d) for d in items)
    if omitted:
        text += "\n\n" + omitted_note(omitted)
    errors = sum(1 for d in items if d.severity == "error") + omitted
    if errors > 1:
        text += f"\n\n{errors} errors"
    return text

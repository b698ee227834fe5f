"""Source files and spans.

A span is a pair of character offsets into one source file; line and column are computed only
when a diagnostic is shown, so building spans costs nothing on the hot path.
"""

from __future__ import annotations

import bisect
from functools import cached_property

import attrs


def line_starts(text: str) -> list[int]:
    """The offset at which each line of `text` starts (lines end at `\\n`)."""
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


@attrs.frozen
class SourceFile:
    """One rule file's text, with the name it is shown under in diagnostics."""

    name: str
    text: str = attrs.field(repr=False)

    @cached_property
    def _line_starts(self) -> list[int]:
        return line_starts(self.text)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return line_index + 1, offset - self._line_starts[line_index] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end == -1 else self.text[start:end]


@attrs.frozen
class Span:
    """Half-open range of character offsets [start, end) in a source file."""

    source: SourceFile = attrs.field(repr=False, eq=False)
    start: int
    end: int

    @property
    def line(self) -> int:
        return self.source.line_col(self.start)[0]

    @property
    def column(self) -> int:
        return self.source.line_col(self.start)[1]

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    def location(self) -> str:
        line, column = self.source.line_col(self.start)
        return f"{self.source.name}:{line}:{column}"

    def to(self, other: Span) -> Span:
        return Span(self.source, min(self.start, other.start), max(self.end, other.end))


UNKNOWN_SOURCE = SourceFile("<unknown>", "")
NO_SPAN = Span(UNKNOWN_SOURCE, 0, 0)

"""Character offsets (what spans hold) to LSP line/character positions and back.

LSP counts characters in the encoding agreed at start-up (UTF-16 unless the client offers
another); a Python string counts code points, which differ for characters outside the BMP.
"""

from __future__ import annotations

import bisect
from functools import cached_property

from lsprotocol import types

from policylang.source import line_starts


class Lines:
    """One text's line starts, for converting offsets in the negotiated encoding."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.encoding = encoding

    @cached_property
    def _starts(self) -> list[int]:
        return line_starts(self.text)

    def _units(self, text: str) -> int:
        if self.encoding == "utf-8":
            return len(text.encode("utf-8"))
        if self.encoding == "utf-32":
            return len(text)
        return len(text.encode("utf-16-le")) // 2

    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        start = self._starts[line]
        return types.Position(line=line, character=self._units(self.text[start:offset]))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position(start), end=self.position(end))

    def offset(self, position: types.Position) -> int:
        if position.line >= len(self._starts):
            return len(self.text)
        start = self._starts[position.line]
        end = self.text.find("\n", start)
        end = len(self.text) if end == -1 else end
        units = 0
        for index in range(start, end):
            if units >= position.character:
                return index
            units += self._units(self.text[index])
        return end

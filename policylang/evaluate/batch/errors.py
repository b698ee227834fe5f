"""What the batch engine cannot compile, named construct by construct."""

from __future__ import annotations


class UnsupportedInBatch(Exception):
    """The policy or the input uses something the batch compiler does not support.

    `constructs` lists each one (with where it occurs), so `--engine auto` can say why it fell
    back to the interpreter and `--engine batch` can say what to change.
    """

    def __init__(self, constructs: list[str]) -> None:
        self.constructs = list(dict.fromkeys(constructs))
        super().__init__("not supported by the batch engine: " + "; ".join(self.constructs))

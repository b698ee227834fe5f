"""Text to AST: parse with Lark (positions kept), lower the tree to our own nodes."""

from policylang.syntax.lower import lower
from policylang.syntax.parser import parse

__all__ = ["lower", "parse"]

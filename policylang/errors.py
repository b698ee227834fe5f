"""Diagnostics and the PolicyError family.

Every problem a policy author can cause is a `Diagnostic` with a stable code. Codes are grouped:
E01xx syntax, E02xx names and imports, E03xx types, E04xx periods and values, E05xx titles,
rules and exceptions, E06xx tables and reference data, E07xx settlement, E08xx command line and
input files. The full list with explanations is in docs/errors.md.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from policylang.source import Span


@attrs.frozen
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    help: str | None = None
    notes: tuple[str, ...] = ()
    severity: str = "error"  # "error" or "warning"

    def sort_key(self) -> tuple[str, int, str]:
        if self.span is None:
            return ("", 0, self.code)
        return (self.span.source.name, self.span.start, self.code)


class PolicyError(Exception):
    """A rule file, a table or the command line is wrong; nothing was evaluated."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics, key=Diagnostic.sort_key))
        super().__init__(self._summary())

    def _summary(self) -> str:
        from policylang.diagnostics import render_all

        return render_all(self.diagnostics)

    @classmethod
    def single(
        cls, code: str, message: str, span: Span | None = None, help: str | None = None
    ) -> PolicyError:
        return cls([Diagnostic(code, message, span, help)])


class PolicySyntaxError(PolicyError):
    """The text is not valid policylang syntax."""


class PolicyCheckError(PolicyError):
    """The text parses but names, types, imports or periods are wrong."""


class InputError(PolicyError):
    """A claims file or table cannot be read at all (a broken row is not this: it becomes an
    `error` decision)."""


class EvaluationError(Exception):
    """Raised inside evaluation for one claim; becomes that claim's `error` decision."""

    def __init__(self, message: str, rule: str = "evaluation", source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.source = source

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

    def identity(self) -> tuple[object, ...]:
        """What makes two diagnostics the same report (a Span compares offsets only)."""
        where = (self.span.source.name, self.span.start, self.span.end) if self.span else None
        return (self.code, self.message, where, self.help, self.notes, self.severity)

    def sort_key(self) -> tuple[str, int, str]:
        if self.span is None:
            return ("", 0, self.code)
        return (self.span.source.name, self.span.start, self.code)


# At most this many diagnostics are kept per file; the rest are counted in `omitted`. A file with
# an error on every word would otherwise print (and hold) one diagnostic per word.
MAX_DIAGNOSTICS_PER_FILE = 50


class PolicyError(Exception):
    """A rule file, a table or the command line is wrong; nothing was evaluated.

    `diagnostics` are sorted by place, without duplicates, and at most MAX_DIAGNOSTICS_PER_FILE
    per file; `omitted` counts the errors left out."""

    def __init__(self, diagnostics: Iterable[Diagnostic], omitted: int = 0) -> None:
        unique = {d.identity(): d for d in diagnostics}
        kept: list[Diagnostic] = []
        per_file: dict[str, int] = {}
        self.omitted = omitted  # errors an inner PolicyError left out already
        for diagnostic in sorted(unique.values(), key=Diagnostic.sort_key):
            name = diagnostic.span.source.name if diagnostic.span is not None else ""
            per_file[name] = per_file.get(name, 0) + 1
            if per_file[name] <= MAX_DIAGNOSTICS_PER_FILE:
                kept.append(diagnostic)
            elif diagnostic.severity == "error":
                self.omitted += 1
        self.diagnostics = tuple(kept)
        super().__init__(self._summary())

    def _summary(self) -> str:
        from policylang.diagnostics import render_all

        return render_all(self.diagnostics, self.omitted)

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

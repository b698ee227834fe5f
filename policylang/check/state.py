"""The state the check stages share while they turn loaded files into a Program."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from policylang import ir
from policylang.check.expressions import Environment, ExpressionChecker, Scope
from policylang.errors import Diagnostic
from policylang.loader import LoadedFile
from policylang.source import Span
from policylang.syntax import nodes


@attrs.define
class Declared:
    """A top-level declaration and the file it comes from."""

    node: nodes.Decl
    file: LoadedFile


@attrs.define
class CheckState:
    files: list[LoadedFile]
    diagnostics: list[Diagnostic] = attrs.Factory(list)
    env: Environment = attrs.Factory(Environment)
    # name -> declaration, one namespace for every named declaration
    names: dict[str, Declared] = attrs.Factory(dict)
    visible: dict[str, frozenset[str]] = attrs.Factory(dict)  # file display name -> names
    defines: dict[str, ir.DefineSpec] = attrs.Factory(dict)
    titles: dict[str, ir.TitleSpec] = attrs.Factory(dict)
    rules: dict[str, ir.RuleSpec] = attrs.Factory(dict)
    settlements: dict[str, ir.SettlementSpec] = attrs.Factory(dict)
    checks: dict[str, ir.CheckSpec] = attrs.Factory(dict)
    invariants: dict[str, ir.InvariantSpec] = attrs.Factory(dict)
    tests: list[ir.TestSpec] = attrs.Factory(list)
    splits: dict[str, ir.SplitSpec] = attrs.Factory(dict)  # check/splits.py

    @property
    def expressions(self) -> ExpressionChecker:
        return ExpressionChecker(self.diagnostics)

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        help: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help, notes))

    def unknown(
        self, code: str, what: str, name: str, span: Span | None, candidates: Iterable[str]
    ) -> None:
        """`unknown WHAT `NAME``, with "did you mean" from the names that do exist."""
        from policylang.check.expressions import did_you_mean

        self.error(code, f"unknown {what} `{name}`", span, did_you_mean(name, candidates))

    def warn(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help, severity="warning"))

    def scope(self, file: LoadedFile, **kwargs: object) -> Scope:
        return Scope(self.env, visible=self.visible.get(file.display), **kwargs)  # type: ignore[arg-type]

    def declarations(self, kind: type) -> list[tuple[nodes.Decl, LoadedFile]]:
        found = []
        for file in self.files:
            for item in file.module.items:
                if isinstance(item, kind):
                    found.append((item, file))
        return found


def citation_of(meta: nodes.Meta) -> str | None:
    """Every citation of a declaration, in the order written, joined by `; ` (a decision, a
    settlement line or a check carries all of them, not only the first)."""
    return "; ".join(c.text for c in meta.citations) if meta.citations else None

"""The `policylang` command line: the only module that imports typer and rich.

Exit codes, for every command:
  0  ran, and nothing was rejected, in error or failing
  1  ran, and some claims were rejected or in error (check), a check or test failed, or lint found
     something
  2  the policy, a table, an input file or the command line is wrong; nothing was evaluated
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from policylang.api import Policy, load
from policylang.decision import Decision, Summary, format_money
from policylang.diagnostics import render
from policylang.errors import Diagnostic, PolicyError
from policylang.evaluate.gcpause import gc_paused

app = typer.Typer(
    name="policylang",
    help="Executable funding rules for Dutch hospital care: check claims, settle, explain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

RulesArg = Annotated[
    list[Path], typer.Argument(help="Rule files or directories (every .policy file below).")
]
ClaimsOpt = Annotated[
    Path, typer.Option("--claims", help="Claims file: CSV, JSON Lines, Parquet or Vektis EI.")
]
TablesOpt = Annotated[
    list[str] | None,
    typer.Option("--table", help="Reference table as NAME=FILE (CSV or Parquet); repeatable."),
]


def _print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        text = render(diagnostic)
        style = "bold red" if diagnostic.severity == "error" else "bold yellow"
        head, _, rest = text.partition("\n")
        err.print(Text(head, style=style))
        if rest:
            err.print(Text(rest))
        err.print()


def _fail(error: PolicyError) -> NoReturn:
    _print_diagnostics(error.diagnostics)
    count = sum(1 for d in error.diagnostics if d.severity == "error")
    if count > 1:
        err.print(Text(f"{count} errors; nothing was evaluated", style="bold red"))
    else:
        err.print(Text("nothing was evaluated", style="bold red"))
    raise typer.Exit(2)


def _parse_tables(tables: list[str] | None) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in tables or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            err.print(f"error: --table takes NAME=FILE, got `{escape(item)}`")
            raise typer.Exit(2)
        parsed[name.strip()] = path.strip()
    return parsed


def _known_engine(engine: str, known: tuple[str, ...]) -> None:
    if engine not in known:
        choices = ", ".join(known[:-1]) + f" or {known[-1]}"
        err.print(f"error: unknown --engine `{escape(engine)}`; use {choices}")
        raise typer.Exit(2)


def _engine_outcome(run: Callable[[], Any]) -> Any:
    """Run a batch or Spark command: what it cannot do is one line and exit 2, its notes (a
    fallback to the interpreter) go to stderr."""
    from policylang.evaluate.batch import UnsupportedInBatch
    from policylang.evaluate.spark.session import SparkUnavailable

    try:
        outcome = run()
    except SparkUnavailable as error:
        err.print(f"error: {escape(str(error))}")
        raise typer.Exit(2) from error
    except UnsupportedInBatch as error:
        err.print(f"error: {escape(str(error))}; use --engine interpret or auto")
        raise typer.Exit(2) from error
    except PolicyError as error:
        _fail(error)
    for note in outcome.notes:
        err.print(escape(note))
    return outcome


def _policy(rules: list[Path], tables: list[str] | None = None) -> Policy:
    try:
        policy = load(*rules)
        if tables:
            policy = policy.with_tables(_parse_tables(tables))
    except PolicyError as error:
        _fail(error)
    return policy


def _decisions_table(decisions: list[Decision], limit: int) -> Table:
    table = Table(show_lines=False, header_style="bold")
    for column, justify in (
        ("claim", "left"),
        ("status", "left"),
        ("claimed", "right"),
        ("payable", "right"),
        ("title", "left"),
        ("reasons", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    colours = {"accepted": "green", "adjusted": "yellow", "rejected": "red", "error": "magenta"}
    for decision in decisions[:limit]:
        reasons = "\n".join(
            r.message + (f" [dim]({escape(r.source)})[/dim]" if r.source else "")
            for r in decision.reasons
            if not r.message.startswith("funded as")
        )
        table.add_row(
            escape(decision.claim_id),
            f"[{colours[decision.status]}]{decision.status}[/]",
            format_money(decision.claimed) if decision.claimed is not None else "",
            format_money(decision.payable),
            escape(decision.title or ""),
            reasons if reasons else "",
        )
    return table


def _summary_text(summary: Summary) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in summary.by_status.items() if n)
    return (
        f"{summary.claims} claims: {counts or 'none'}; claimed EUR {format_money(summary.claimed)}, "
        f"payable EUR {format_money(summary.payable)}"
    )


def print_invariants(results: Iterable[Any]) -> None:
    """Invariants on stderr, so decisions on stdout stay machine-readable (docs/invariants.md)."""
    for result in results:
        if result.holds:
            err.print(f"invariant {escape(result.name)}: [green]holds[/green]")
            continue
        err.print(
            f"invariant {escape(result.name)}: [red]VIOLATED[/red] ({result.count}) "
            f"[dim]{escape(result.description)}[/dim]"
        )
        for violation in result.violations:
            claims = ", ".join(violation.claims)
            err.print(f"  claims {escape(claims or '-')}: {escape(violation.detail)}")


def _write_decisions(
    decisions: list[Decision],
    fmt: str,
    output: Path | None,
    invariants: list[Any] | None = None,
    file_problems: list[str] | None = None,
) -> None:
    summary = Summary.of(decisions)
    handle: Any = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "json":
            # the claims file's own problems (a Vektis closing record, ...), when it has any
            extra = {"file_problems": file_problems} if file_problems else {}
            json.dump(
                {
                    "decisions": [d.to_json() for d in decisions],
                    "summary": summary.to_json(),
                    "invariants": [i.to_json() for i in invariants or ()],
                    **extra,
                },
                handle,
                indent=2,
                ensure_ascii=False,
            )
            handle.write("\n")
        elif fmt == "jsonl":
            for decision in decisions:
                handle.write(json.dumps(decision.to_json(), ensure_ascii=False) + "\n")
        elif fmt == "csv":
            writer = csv.writer(handle)
            writer.writerow(
                ["claim_id", "status", "claimed", "payable", "title", "funding", "reasons"]
            )
            for d in decisions:
                writer.writerow(
                    [
                        d.claim_id,
                        d.status,
                        format_money(d.claimed) if d.claimed is not None else "",
                        format_money(d.payable),
                        d.title or "",
                        d.funding or "",
                        " | ".join(
                            f"{r.rule}: {r.message}" + (f" ({r.source})" if r.source else "")
                            for r in d.reasons
                        ),
                    ]
                )
        else:
            console = Console(file=handle, highlight=False, soft_wrap=True) if output else out
            limit = len(decisions) if output else 200
            console.print(_decisions_table(decisions, limit))
            if len(decisions) > limit:
                console.print(
                    f"[dim]... {len(decisions) - limit} more; use --format csv or --output[/dim]"
                )
            console.print(_summary_text(summary))
    finally:
        if output:
            handle.close()
    if fmt != "table" or output:
        err.print(_summary_text(summary))


@app.command()
def check(
    rules: RulesArg,
    claims: ClaimsOpt,
    table: TablesOpt = None,
    format: Annotated[str, typer.Option("--format", help="table, json, jsonl or csv.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write decisions here.")] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="interpret, batch (DuckDB), spark (pyspark, local) or auto (docs/architecture.md).",
        ),
    ] = "interpret",
    pseudonymise: Annotated[
        bool,
        typer.Option(
            "--pseudonymise",
            help="Replace each patient (BSN) by a stable pseudonym as the claims are read.",
        ),
    ] = False,
) -> None:
    """Evaluate every claim: one decision per claim, with reasons and citations."""
    if format not in ("table", "json", "jsonl", "csv"):
        err.print(f"error: unknown --format `{escape(format)}`; use table, json, jsonl or csv")
        raise typer.Exit(2)
    _known_engine(engine, ("interpret", "batch", "spark", "auto"))
    policy = _policy(rules, table)
    source: Any = claims
    vektis = _vektis_reader(claims)  # a ZH308 file: read here, to report its own problems
    if vektis is not None:
        from policylang.io.claims import RawClaims, pseudonymised

        source = RawClaims(pseudonymised(vektis) if pseudonymise else vektis)
        if engine != "interpret":
            err.print("note: a Vektis EI file is read in Python: using the interpreter")
            engine = "interpret"
    elif pseudonymise:
        from policylang.io.claims import RawClaims, pseudonymised, read_claims

        try:
            source = RawClaims(pseudonymised(read_claims(claims)))
        except PolicyError as error:
            _fail(error)
        if engine != "interpret":
            err.print("note: --pseudonymise reads the claims in Python: using the interpreter")
            engine = "interpret"
    if engine != "interpret":
        from policylang.evaluate.batch.command import batch_check

        if engine == "spark":
            from policylang.evaluate.spark.command import spark_check

            outcome = _engine_outcome(lambda: spark_check(policy, claims, format, output))
        else:
            outcome = _engine_outcome(lambda: batch_check(policy, claims, engine, format, output))
        if outcome.summary is not None:  # streamed by the batch engine
            err.print(_summary_text(outcome.summary))
            by_status = outcome.summary.by_status
            _end_check(bool(by_status["rejected"] or by_status["error"]), outcome.invariants)
            return
        if outcome.decisions is not None:
            _write_decisions(outcome.decisions, format, output, outcome.invariants)
            _end_check(_any_refused(outcome.decisions), outcome.invariants)
            return
    with gc_paused():  # decisions stay alive until written: see evaluate/gcpause.py
        try:
            decisions, invariants = policy.check_invariants(source)
        except PolicyError as error:
            _fail(error)
        file_problems = [str(p) for p in vektis.file_problems] if vektis is not None else []
        _write_decisions(decisions, format, output, invariants, file_problems)
    if format != "json":
        for problem in file_problems:
            err.print(f"[red]file problem[/red]: {escape(problem)}")
    _end_check(_any_refused(decisions) or bool(file_problems), invariants)


def _vektis_reader(claims: Path) -> Any:
    """The ZH308 reader of `claims` when it is a Vektis EI file of a kind policylang reads
    (exit 2 for any other kind, as for every claims file), else None."""
    from policylang.io.claims import check_kind, detect_format

    if not claims.is_file():
        return None  # the reader says the file does not exist
    try:
        check_kind(claims)
        if detect_format(claims) != "ei":
            return None
        from policylang.io.ei import read_zh308_claims

        return read_zh308_claims(claims)
    except PolicyError as error:
        _fail(error)


def _any_refused(decisions: list[Decision]) -> bool:
    return any(d.status in ("rejected", "error") for d in decisions)


def _end_check(refused: bool, invariants: list[Any]) -> None:
    """The invariants on stderr; exit 1 when a claim was rejected or in error, the claims file
    has problems of its own, or an invariant is violated (exit 0 otherwise)."""
    print_invariants(invariants)
    if refused or any(not i.holds for i in invariants):
        raise typer.Exit(1)


@app.command()
def settle(
    rules: RulesArg,
    claims: ClaimsOpt,
    table: TablesOpt = None,
    year: Annotated[
        int | None,
        typer.Option("--year", help="Year for parameters; default: the claims' most common year."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--settlement", help="Run only this settlement (repeatable); default: all."),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write the result here.")] = None,
    engine: Annotated[
        str,
        typer.Option("--engine", help="interpret, batch (DuckDB) or auto (docs/architecture.md)."),
    ] = "interpret",
) -> None:
    """Settle a claim set: money lines per party, and the checks the rule files declare."""
    if format not in ("table", "json"):
        err.print(f"error: unknown --format `{escape(format)}`; use table or json")
        raise typer.Exit(2)
    _known_engine(engine, ("interpret", "batch", "auto"))  # Spark checks, it does not settle
    policy = _policy(rules, table)
    result = None
    if engine != "interpret":
        from policylang.evaluate.batch.settle import batch_settle

        result = _engine_outcome(
            lambda: batch_settle(policy, claims, year, policy.settlements_to_run(only), engine)
        ).settlement
    try:
        if result is None:
            result = policy.settle(claims, year, only)
    except PolicyError as error:
        _fail(error)
    handle: Any = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        if format == "json":
            json.dump(result.to_json(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        else:
            console = Console(file=handle, highlight=False, soft_wrap=True) if output else out
            lines = Table(header_style="bold", title=f"settlement {result.year or ''}".strip())
            for column, justify in (
                ("settlement", "left"),
                ("party", "left"),
                ("item", "left"),
                ("amount", "right"),
                ("source", "left"),
            ):
                lines.add_column(column, justify=justify)  # type: ignore[arg-type]
            for line in result.lines:
                lines.add_row(
                    escape(line.settlement),
                    escape(line.party),
                    escape(line.item),
                    format_money(line.amount),
                    escape(line.source or ""),
                )
            console.print(lines)
            for check in result.checks:
                if check.skipped:
                    mark = "[dim]skipped[/dim]"
                elif check.holds:
                    mark = "[green]holds[/green]"
                elif check.warn_only:
                    mark = "[yellow]warning[/yellow]"
                else:
                    mark = "[red]FAILS[/red]"
                console.print(
                    f"check {escape(check.name)}: {mark}  [dim]{escape(check.detail)}[/dim]"
                )
    finally:
        if output:
            handle.close()
    print_invariants(result.invariants)
    if result.failed:
        raise typer.Exit(1)


@app.command()
def explain(
    rules: RulesArg,
    claims: ClaimsOpt,
    claim: Annotated[str, typer.Option("--claim", help="The claim_id to explain.")],
    table: TablesOpt = None,
    format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Show how one claim's decision came about, step by step, with citations."""
    policy = _policy(rules, table)
    try:
        explanation = policy.explain(claims, claim)
    except PolicyError as error:
        _fail(error)
    decision = explanation.decision
    if format == "json":
        out.print_json(
            json.dumps(
                {
                    "decision": decision.to_json(),
                    "steps": [
                        {
                            "kind": s.kind,
                            "name": s.name,
                            "outcome": s.outcome,
                            "detail": s.detail,
                            "source": s.source,
                        }
                        for s in explanation.steps
                    ],
                }
            )
        )
    else:
        out.print(
            f"[bold]claim {escape(decision.claim_id)}[/bold]: {decision.status}, "
            f"payable EUR {format_money(decision.payable)}"
        )
        for step in explanation.steps:
            source = f" [dim]({escape(step.source)})[/dim]" if step.source else ""
            detail = f": {escape(step.detail)}" if step.detail else ""
            out.print(
                f"  {step.kind:<11} {escape(step.name)} -> {escape(step.outcome)}{detail}{source}"
            )
        out.print("[bold]reasons[/bold]")
        for reason in decision.reasons:
            source = f" [dim]({escape(reason.source)})[/dim]" if reason.source else ""
            out.print(f"  {escape(reason.rule)}: {escape(reason.message)}{source}")
    if decision.status in ("rejected", "error"):
        raise typer.Exit(1)


@app.command()
def test(rules: RulesArg) -> None:
    """Run the `test` blocks written in the rule files."""
    from policylang.evaluate.tests import run_tests

    policy = _policy(rules)
    results = run_tests(policy.program)
    failed = 0
    for result in results:
        if result.passed:
            out.print(f"[green]ok[/green]   {escape(result.name)}")
            continue
        failed += 1
        out.print(f"[red]FAIL[/red] {escape(result.name)} [dim]({result.span.location()})[/dim]")
        for failure in result.failures:
            out.print(f"       {escape(failure)}")
    out.print(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@app.command()
def lint(rules: RulesArg) -> None:
    """Report what may not be what the author meant: uncited titles, overlaps, unused values."""
    from policylang.lint import lint as run_lint

    policy = _policy(rules)
    findings = [*policy.warnings, *run_lint(policy.program)]
    _print_diagnostics(findings)
    err.print(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}")
    if findings:
        raise typer.Exit(1)


@app.command()
def verify(
    rules: RulesArg,
    examples: Annotated[
        int, typer.Option("--examples", help="Generated claim sets to try per invariant.")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed finds the same.")] = 0,
    table: TablesOpt = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for the counterexample CSV files.")
    ] = Path("counterexamples"),
    invariant: Annotated[
        list[str] | None, typer.Option("--invariant", help="Only this invariant (repeatable).")
    ] = None,
) -> None:
    """Generate claim sets and hunt for violations of the invariants (docs/invariants.md)."""
    from policylang.analysis.verify import verify as run_verify

    policy = _policy(rules, table)
    if not policy.program.invariants:
        err.print("the rule files state no invariants")
        return
    try:
        results = run_verify(policy, examples, seed, out=out_dir, only=invariant)
    except PolicyError as error:
        _fail(error)
    given = [f"--table {t}" for t in table or ()]
    for result in results:
        if result.holds:
            out.print(
                f"invariant {escape(result.name)}: [green]held[/green] "
                f"[dim]({result.examples} generated claim sets, seed {seed})[/dim]"
            )
            continue
        out.print(
            f"invariant {escape(result.name)}: [red]VIOLATED[/red] [dim]{escape(result.description)}[/dim]"
        )
        for violation in result.violation.violations if result.violation else ():
            out.print(f"  {escape(violation.detail)}")
        out.print(f"  minimal counterexample: {len(result.claims)} claims in {result.files[0]}")
        command = result.command([str(r) for r in rules]) + "".join(f" {g}" for g in given)
        out.print(f"  reproduce: {escape(command)}")
    if any(not r.holds for r in results):
        raise typer.Exit(1)


@app.command()
def fmt(
    files: Annotated[list[Path], typer.Argument(help="Rule files or directories to format.")],
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file is not formatted.")
    ] = False,
) -> None:
    """Rewrite rule files in the canonical layout (comments are kept)."""
    from policylang.format import format_module
    from policylang.syntax.parser import parse

    paths: list[Path] = []
    for path in files:
        paths += sorted(path.rglob("*.policy")) if path.is_dir() else [path]
    unformatted = []
    diagnostics: list[Diagnostic] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            err.print(f"error: cannot read `{escape(str(path))}`: {escape(str(error))}")
            raise typer.Exit(2) from error
        try:
            formatted = format_module(parse(text, str(path)))
        except PolicyError as error:
            diagnostics += error.diagnostics
            continue
        if formatted != text:
            unformatted.append(path)
            if not check:
                path.write_text(formatted, encoding="utf-8")
    if diagnostics:
        _fail(PolicyError(diagnostics))
    verb = "would reformat" if check else "reformatted"
    for path in unformatted:
        err.print(f"{verb} {escape(str(path))}")
    err.print(f"{len(paths)} files, {len(unformatted)} {verb}")
    if check and unformatted:
        raise typer.Exit(1)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="A Vektis EI file (ZH308 or MZ301).")],
) -> None:
    """Show a Vektis EI file's structure and every validation problem."""
    from policylang.io.ei import inspect_ei, looks_like_ei
    from policylang.io.ei.zh308 import inspection_rows

    if not file.is_file():
        err.print(f"error: `{escape(str(file))}` does not exist")
        raise typer.Exit(2)
    if not looks_like_ei(file):
        err.print(
            f"error: `{escape(str(file))}` is not a Vektis EI file "
            "(its first record is not a header record 01 with a known EI code)"
        )
        raise typer.Exit(2)
    inspection = inspect_ei(file)
    table = Table(title=escape(str(file)), header_style="bold", show_header=False)
    table.add_column("what")
    table.add_column("value")
    for label, value in inspection_rows(inspection):
        style = "red" if label == "problem" else ""
        table.add_row(escape(label), f"[{style}]{escape(value)}[/]" if style else escape(value))
    out.print(table)
    if inspection.problems:
        raise typer.Exit(1)


@app.command("split-modes")
def split_modes(
    rules: RulesArg,
    today: Annotated[Path, typer.Option("--today", help="Claims of today's mode (whole DBC).")],
    split: Annotated[Path, typer.Option("--split", help="Claims of split mode (one per part).")],
    table: TablesOpt = None,
    format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Settle network care both ways: per hospital, today's and split mode (docs/splitting.md)."""
    policy = _policy(rules, table)
    try:
        result = policy.compare_modes(today, split)
    except PolicyError as error:
        _fail(error)
    if format == "json":
        out.print_json(json.dumps(result.to_json()))
    else:
        lines = Table(title="payments")
        for column in ("mode", "trajectory", "payer", "payee", "item", "amount"):
            lines.add_column(column, justify="right" if column == "amount" else "left")
        for line in result.lines:
            lines.add_row(
                line.mode,
                escape(line.trajectory),
                escape(line.payer),
                escape(line.payee),
                escape(line.item),
                format_money(line.amount),
            )
        out.print(lines)
        hospitals = Table(title="per hospital")
        for column in ("provider", "today", "split"):
            hospitals.add_column(column, justify="left" if column == "provider" else "right")
        for provider, in_today, in_split in result.hospitals:
            hospitals.add_row(escape(provider), format_money(in_today), format_money(in_split))
        hospitals.add_row(
            "insurer pays", format_money(result.insurer_today), format_money(result.insurer_split)
        )
        out.print(hospitals)
        for problem in result.problems:
            out.print(f"[yellow]{escape(problem)}[/yellow]")
        mark = "[green]holds[/green]" if result.holds else "[red]FAILS[/red]"
        out.print(f"check same_money_both_modes: {mark}")
    if not result.holds:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

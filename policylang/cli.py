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
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import attrs
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from policylang.api import Policy, load
from policylang.decision import Decision, Summary, format_money
from policylang.diagnostics import omitted_note, render
from policylang.errors import Diagnostic, PolicyError
from policylang.evaluate.gcpause import gc_paused
from policylang.io.spreadsheet import spreadsheet_row
from policylang.loader import load_files
from policylang.terminal import visible

app = typer.Typer(
    name="policylang",
    help="Executable funding rules for Dutch hospital care: check claims, settle, explain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        from policylang import __version__

        out.print(f"policylang {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Executable funding rules for Dutch hospital care: check claims, settle, explain."""


def shown(text: str) -> str:
    """Input text for rich markup on a terminal: control characters escaped (terminal.py),
    markup characters too."""
    return escape(visible(text))


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
    if error.omitted:
        err.print(Text(omitted_note(error.omitted), style="bold red"))
        err.print()
    count = sum(1 for d in error.diagnostics if d.severity == "error") + error.omitted
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
            err.print(f"error: --table takes NAME=FILE, got `{shown(item)}`")
            raise typer.Exit(2)
        parsed[name.strip()] = path.strip()
    return parsed


def _known_engine(engine: str, known: tuple[str, ...]) -> None:
    if engine not in known:
        choices = ", ".join(known[:-1]) + f" or {known[-1]}"
        err.print(f"error: unknown --engine `{shown(engine)}`; use {choices}")
        raise typer.Exit(2)


def _engine_outcome(run: Callable[[], Any]) -> Any:
    """Run a batch or Spark command: what it cannot do is one line and exit 2, its notes (a
    fallback to the interpreter) go to stderr."""
    from policylang.evaluate.batch import UnsupportedInBatch
    from policylang.evaluate.spark.session import SparkUnavailable

    try:
        outcome = run()
    except SparkUnavailable as error:
        err.print(f"error: {shown(str(error))}")
        raise typer.Exit(2) from error
    except UnsupportedInBatch as error:
        err.print(f"error: {shown(str(error))}; use --engine interpret or auto")
        raise typer.Exit(2) from error
    except PolicyError as error:
        _fail(error)
    for note in outcome.notes:
        err.print(shown(note))
    return outcome


def _policy(rules: list[Path], tables: list[str] | None = None) -> Policy:
    try:
        policy = load(*rules)
        if tables:
            policy = policy.with_tables(_parse_tables(tables))
    except PolicyError as error:
        _fail(error)
    return policy


def _check_header(policy: Policy, claims: Path) -> None:
    """Exit 2 (E0812) when a CSV claims file's header lacks a column the claim schema requires:
    one message about the file instead of one `error` decision per row."""
    from policylang.io.claims import check_kind, detect_format
    from policylang.io.header import check_csv_header

    if not claims.is_file():
        return  # the reader says the file does not exist
    try:
        check_kind(claims)  # a spreadsheet or binary file is named as such (E0811) first
        if detect_format(claims) == "csv":
            check_csv_header(policy.program, claims)
    except PolicyError as error:
        _fail(error)


def _stdin_claims(claims: Path) -> Path:
    """`--claims -`: standard input, spooled to a private file (a 0700 directory removed at
    exit, as the batch engine's spill; docs/security.md), so every reader and engine can open it
    and detect its format from the content. Any other path is returned as it is."""
    if str(claims) != "-":
        return claims
    import atexit
    import shutil
    import tempfile

    directory = tempfile.mkdtemp(prefix="policylang-stdin-")
    atexit.register(shutil.rmtree, directory, True)
    spooled = Path(directory) / "claims"
    with spooled.open("wb") as handle:
        shutil.copyfileobj(sys.stdin.buffer, handle)
    return spooled


def _stdout_if_dash(output: Path | None) -> Path | None:
    """`--output -` is standard output, as no --output is."""
    return None if output is not None and str(output) == "-" else output


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
            shown(r.message) + (f" [dim]({shown(r.source)})[/dim]" if r.source else "")
            for r in decision.reasons
            if not r.message.startswith("funded as")
        )
        table.add_row(
            shown(decision.claim_id),
            f"[{colours[decision.status]}]{decision.status}[/]",
            format_money(decision.claimed) if decision.claimed is not None else "",
            format_money(decision.payable),
            shown(decision.title or ""),
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
            err.print(f"invariant {shown(result.name)}: [green]holds[/green]")
            continue
        err.print(
            f"invariant {shown(result.name)}: [red]VIOLATED[/red] ({result.count}) "
            f"[dim]{shown(result.description)}[/dim]"
        )
        for violation in result.violations:
            claims = ", ".join(violation.claims)
            err.print(f"  claims {shown(claims or '-')}: {shown(violation.detail)}")


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
                writer.writerow(  # no cell a spreadsheet runs as a formula: io/spreadsheet.py
                    spreadsheet_row(
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
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep", help="Claim columns to keep beside each decision: provider,insurer."
        ),
    ] = None,
) -> None:
    """Evaluate every claim: one decision per claim, with reasons and citations. `--claims -`
    reads standard input, `--output -` writes standard output."""
    claims, output = _stdin_claims(claims), _stdout_if_dash(output)
    if format not in ("table", "json", "jsonl", "csv"):
        err.print(f"error: unknown --format `{shown(format)}`; use table, json, jsonl or csv")
        raise typer.Exit(2)
    _known_engine(engine, ("interpret", "batch", "spark", "auto"))
    policy = _policy(rules, table)
    _check_header(policy, claims)
    if keep:  # docs/impact.md, "check --keep": decisions with claim columns (interpreter)
        _check_keeping(policy, claims, keep, format, output, pseudonymise, engine)
        return
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
    format: Annotated[
        str,
        typer.Option(
            "--format", help="table, json, or csv (the lines only: a table file for a next step)."
        ),
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write the result here.")] = None,
    engine: Annotated[
        str,
        typer.Option("--engine", help="interpret, batch (DuckDB) or auto (docs/architecture.md)."),
    ] = "interpret",
    items: Annotated[
        list[str] | None,
        typer.Option("--item", help="Output only the lines of this item (repeatable)."),
    ] = None,
) -> None:
    """Settle a claim set: money lines per party, and the checks the rule files declare.
    `--claims -` reads standard input, `--output -` writes standard output."""
    claims, output = _stdin_claims(claims), _stdout_if_dash(output)
    if format not in ("table", "json", "csv"):
        err.print(f"error: unknown --format `{shown(format)}`; use table, json or csv")
        raise typer.Exit(2)
    _known_engine(engine, ("interpret", "batch", "auto"))  # Spark checks, it does not settle
    policy = _policy(rules, table)
    _check_header(policy, claims)
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
    if items:
        kept = tuple(line for line in result.lines if line.item in items)
        result = attrs.evolve(result, lines=kept)
    handle: Any = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if format == "json":
            json.dump(result.to_json(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        elif format == "csv":
            # the lines as a table file (docs/language.md, settlement results as inputs)
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["settlement", "party", "item", "amount", "unit", "source"])
            for line in result.lines:
                row = [line.settlement, line.party, line.item, line.shown, line.unit]
                writer.writerow([*row, line.source or ""])
            for check in result.checks:
                state = "skipped" if check.skipped else "holds" if check.holds else "FAILS"
                err.print(f"check {escape(check.name)}: {state}  {escape(check.detail)}")
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
                    shown(line.settlement),
                    shown(line.party),
                    shown(line.item),
                    line.shown,
                    shown(line.source or ""),
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
                    f"check {shown(check.name)}: {mark}  [dim]{shown(check.detail)}[/dim]"
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
    claims = _stdin_claims(claims)
    _check_header(policy, claims)
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
            f"[bold]claim {shown(decision.claim_id)}[/bold]: {decision.status}, "
            f"payable EUR {format_money(decision.payable)}"
        )
        for step in explanation.steps:
            source = f" [dim]({shown(step.source)})[/dim]" if step.source else ""
            detail = f": {shown(step.detail)}" if step.detail else ""
            out.print(
                f"  {step.kind:<11} {shown(step.name)} -> {shown(step.outcome)}{detail}{source}"
            )
        out.print("[bold]reasons[/bold]")
        for reason in decision.reasons:
            source = f" [dim]({shown(reason.source)})[/dim]" if reason.source else ""
            out.print(f"  {shown(reason.rule)}: {shown(reason.message)}{source}")
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
            out.print(f"[green]ok[/green]   {shown(result.name)}")
            continue
        failed += 1
        out.print(f"[red]FAIL[/red] {shown(result.name)} [dim]({result.span.location()})[/dim]")
        for failure in result.failures:
            out.print(f"       {shown(failure)}")
    out.print(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@app.command()
def lint(
    rules: RulesArg,
    format: Annotated[
        str, typer.Option("--format", help="text, or json: one list of findings on stdout.")
    ] = "text",
    sources: Annotated[
        list[Path] | None,
        typer.Option(
            "--sources",
            help="Folder of the cited documents: check that every cited line exists and is not "
            "blank (repeatable).",
        ),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="With --sources: print each citation's cited text.")
    ] = False,
) -> None:
    """Report what may not be what the author meant: uncited titles, overlaps, unused values,
    and (with --sources) citations to lines that are not there or blank."""
    if format not in ("text", "json"):
        err.print(f"error: unknown --format `{shown(format)}`; use text or json")
        raise typer.Exit(2)
    missing = [folder for folder in sources or () if not folder.is_dir()]
    if missing:
        err.print(f"error: --sources `{shown(str(missing[0]))}` is not a folder")
        raise typer.Exit(2)
    if show and not sources:
        err.print("error: --show prints the cited text, and needs --sources DIR")
        raise typer.Exit(2)
    if format == "json":
        _lint_json(rules, sources or [])
    findings = _lint_findings(_policy(rules), rules, sources or [], show)
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
    shrink_steps: Annotated[
        int,
        typer.Option(
            "--shrink-steps", help="Evaluations spent shrinking a counterexample (never time)."
        ),
    ] = 5000,
) -> None:
    """Generate claim sets and hunt for violations of the invariants (docs/invariants.md)."""
    from policylang.analysis.verify import verify as run_verify

    policy = _policy(rules, table)
    if not policy.program.invariants:
        err.print("the rule files state no invariants")
        return
    try:
        results = run_verify(
            policy, examples, seed, out=out_dir, only=invariant, shrink_steps=shrink_steps
        )
    except PolicyError as error:
        _fail(error)
    given = [f"--table {t}" for t in table or ()]
    for result in results:
        if result.holds:
            out.print(
                f"invariant {shown(result.name)}: [green]held[/green] "
                f"[dim]({result.examples} generated claim sets, seed {seed})[/dim]"
            )
            continue
        out.print(
            f"invariant {shown(result.name)}: [red]VIOLATED[/red] [dim]{shown(result.description)}[/dim]"
        )
        for violation in result.violation.violations if result.violation else ():
            out.print(f"  {shown(violation.detail)}")
        out.print(
            f"  minimal counterexample: {len(result.claims)} claims in {shown(str(result.files[0]))}"
        )
        command = result.command([str(r) for r in rules]) + "".join(f" {g}" for g in given)
        out.print(f"  reproduce: {shown(command)}")
    if any(not r.holds for r in results):
        raise typer.Exit(1)


@app.command()
def fmt(
    files: Annotated[list[Path], typer.Argument(help="Rule files or directories to format.")],
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file is not formatted.")
    ] = False,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Change nothing; print what would change as a unified diff."),
    ] = False,
) -> None:
    """Rewrite rule files in the canonical layout (comments are kept); `-` reads stdin."""
    from policylang.format import format_module
    from policylang.loader import display_name, read_rule_file, rule_files
    from policylang.syntax.parser import parse

    if files == [Path("-")]:
        _fmt_stdin(check, diff)
    paths: list[Path] = []
    diagnostics: list[Diagnostic] = []
    for path in files:
        if path.is_dir():  # the directory scan of load(): nothing outside the tree is rewritten
            found, refused = rule_files(path)
            paths += [Path(display_name(p)) for p in found]
            diagnostics += refused
        else:
            paths.append(path)
    if diagnostics:
        _fail(PolicyError(diagnostics))
    unformatted = []
    omitted = 0
    for path in paths:
        try:
            text = read_rule_file(path, str(path))
            formatted = format_module(parse(text, str(path)))
        except PolicyError as error:
            diagnostics += error.diagnostics
            omitted += error.omitted
            continue
        if formatted != text:
            unformatted.append(path)
            if diff:
                sys.stdout.write(_unified_diff(text, formatted, str(path)))
            elif not check:
                path.write_text(formatted, encoding="utf-8")
    if diagnostics or omitted:
        _fail(PolicyError(diagnostics, omitted))
    verb = "would reformat" if check or diff else "reformatted"
    for path in unformatted:
        err.print(f"{verb} {shown(str(path))}")
    err.print(f"{len(paths)} files, {len(unformatted)} {verb}")
    if (check or diff) and unformatted:
        raise typer.Exit(1)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="A Vektis EI file (ZH308 or MZ301).")],
) -> None:
    """Show a Vektis EI file's structure and every validation problem."""
    from policylang.io.ei import inspect_ei, looks_like_ei
    from policylang.io.ei.zh308 import inspection_rows

    if not file.is_file():
        err.print(f"error: `{shown(str(file))}` does not exist")
        raise typer.Exit(2)
    if not looks_like_ei(file):
        err.print(
            f"error: `{shown(str(file))}` is not a Vektis EI file "
            "(its first record is not a header record 01 with a known EI code)"
        )
        raise typer.Exit(2)
    inspection = inspect_ei(file)
    table = Table(title=shown(str(file)), header_style="bold", show_header=False)
    table.add_column("what")
    table.add_column("value")
    for label, value in inspection_rows(inspection):
        style = "red" if label == "problem" else ""
        table.add_row(shown(label), f"[{style}]{shown(value)}[/]" if style else shown(value))
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
                shown(line.trajectory),
                shown(line.payer),
                shown(line.payee),
                shown(line.item),
                format_money(line.amount),
            )
        out.print(lines)
        hospitals = Table(title="per hospital")
        for column in ("provider", "today", "split"):
            hospitals.add_column(column, justify="left" if column == "provider" else "right")
        for provider, in_today, in_split in result.hospitals:
            hospitals.add_row(shown(provider), format_money(in_today), format_money(in_split))
        hospitals.add_row(
            "insurer pays", format_money(result.insurer_today), format_money(result.insurer_split)
        )
        out.print(hospitals)
        for problem in result.problems:
            out.print(f"[yellow]{shown(problem)}[/yellow]")
        mark = "[green]holds[/green]" if result.holds else "[red]FAILS[/red]"
        out.print(f"check same_money_both_modes: {mark}")
    if not result.holds:
        raise typer.Exit(1)


# ---------------------------------------------------------------- impact: diff and report
# Self-contained (docs/impact.md): the comparison lives in policylang/impact/, this block only
# parses options and renders. Exit status of `diff`, like diff(1): 0 nothing changed, 1 something
# changed, 2 bad input (nothing was compared).

DIFF_FORMATS = ("table", "json", "csv", "html", "xlsx")


@app.command("diff")
def diff_command(
    base: Annotated[str, typer.Argument(help="Base rules: a file, a directory, or PATH@REV.")],
    claims: ClaimsOpt,
    new: Annotated[str | None, typer.Argument(help="New rules (leave out with --against).")] = None,
    against: Annotated[
        Path | None,
        typer.Option("--against", help="Compare one policy over --claims (old) and this file."),
    ] = None,
    table: TablesOpt = None,
    base_table: Annotated[
        list[str] | None, typer.Option("--base-table", help="NAME=FILE for the base side only.")
    ] = None,
    new_table: Annotated[
        list[str] | None, typer.Option("--new-table", help="NAME=FILE for the new side only.")
    ] = None,
    by: Annotated[
        list[str] | None, typer.Option("--by", help="Also total by this claim column.")
    ] = None,
    settlement: Annotated[
        list[str] | None, typer.Option("--settlement", help="Settle and compare (repeatable).")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", help="Year of the settlement.")] = None,
    format: Annotated[
        str, typer.Option("--format", help="table, json, csv, html or xlsx (needs --output).")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write here.")] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="interpret, batch or auto (as for check).")
    ] = "interpret",
) -> None:
    """Impact of a rule change: per claim what changed and why, money per group, settlements."""
    from policylang.impact import diff as compare_runs

    if format not in DIFF_FORMATS:
        err.print(f"error: unknown --format `{shown(format)}`; use table, json, csv, html or xlsx")
        raise typer.Exit(2)
    if format == "xlsx" and output is None:
        err.print("error: --format xlsx writes a workbook: give --output FILE.xlsx")
        raise typer.Exit(2)
    _known_engine(engine, ("interpret", "batch", "auto"))
    try:
        comparison = compare_runs(
            base,
            new,
            claims=claims,
            against=against,
            tables=_parse_tables(table),
            base_tables=_parse_tables(base_table),
            new_tables=_parse_tables(new_table),
            by=by or (),
            settlements=settlement,
            year=year,
            engine=engine,
        )
    except PolicyError as error:
        _fail(error)
    _write_comparison(comparison, format, output)
    if comparison.changed:
        raise typer.Exit(1)


@app.command("report")
def report_command(
    rules: Annotated[str, typer.Argument(help="Rules: a file, a directory, or PATH@REV.")],
    claims: ClaimsOpt,
    output: Annotated[Path, typer.Option("--output", help="The HTML file to write.")],
    table: TablesOpt = None,
    by: Annotated[
        list[str] | None, typer.Option("--by", help="Also total by this claim column.")
    ] = None,
    settlement: Annotated[
        list[str] | None, typer.Option("--settlement", help="Settle too (repeatable).")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", help="Year of the settlement.")] = None,
) -> None:
    """A self-contained HTML page of one run: totals per hospital, insurer, title; settlement."""
    from policylang.impact import single_run
    from policylang.impact.report import run_html

    try:
        side = single_run(
            rules,
            claims,
            tables=_parse_tables(table),
            by=by or (),
            settlements=settlement,
            year=year,
        )
    except PolicyError as error:
        _fail(error)
    output.write_text(run_html(side, tuple(by or ())), encoding="utf-8")
    err.print(f"wrote {shown(str(output))}: {_summary_text(side.summary)}")


def _write_comparison(comparison: Any, fmt: str, output: Path | None) -> None:
    from policylang.impact.export import write_changes_csv
    from policylang.impact.report import comparison_html

    if fmt == "xlsx":
        from policylang.impact.excel import write_xlsx

        assert output is not None
        write_xlsx(comparison, output)
        fmt, output = "none", None
    handle: Any = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "json":
            json.dump(comparison.to_json(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        elif fmt == "csv":
            write_changes_csv(comparison, handle)
        elif fmt == "html":
            handle.write(comparison_html(comparison))
        elif fmt == "table":
            console = (
                Console(file=handle, highlight=False, soft_wrap=True, width=160) if output else out
            )
            _print_comparison(console, comparison)
    finally:
        if output:
            handle.close()
    summary = comparison.summary_json()
    err.print(
        f"{summary['changed_claims']} claims changed; payable EUR {summary['payable_before']} -> "
        f"EUR {summary['payable_after']} ({_signed(summary['payable_change'])})"
    )


def _signed(amount: str) -> str:
    return amount if amount.startswith("-") else f"+{amount}"


def _print_comparison(console: Console, comparison: Any, limit: int = 50) -> None:
    from collections import Counter

    largest = comparison.largest(limit)
    changes = Table(title="changed claims (largest change first)", header_style="bold")
    for column in ("claim", "provider", "insurer", "status", "payable", "change", "title"):
        changes.add_column(column, justify="right" if column in ("payable", "change") else "left")
    for change in largest:
        a, b = change.before, change.after
        changes.add_row(
            shown(change.claim_id),
            shown(change.provider or ""),
            shown(change.insurer or ""),
            f"{a.status if a else '-'} -> {b.status if b else '-'}",
            f"{format_money(a.payable) if a else '-'} -> {format_money(b.payable) if b else '-'}",
            _signed(format_money(change.payable_change)),
            shown(" -> ".join(dict.fromkeys([(a or b).title or "", (b or a).title or ""]))),
        )
    if largest:
        console.print(changes)
    else:
        console.print("no claim's decision changed")
    if len(comparison.changes) > limit:
        console.print(f"[dim]... {len(comparison.changes) - limit} more; use --format csv[/dim]")
    if largest:
        console.print("[bold]why[/bold] (the first reason that differs, on each side)")
    for change in largest:
        for side, reason in (("before", change.reason_before), ("after", change.reason_after)):
            text = "(no such reason)"
            if reason is not None:
                cite = f" [dim]({shown(reason.source)})[/dim]" if reason.source else ""
                text = f"{shown(reason.rule)}: {shown(reason.message)}{cite}"
            console.print(f"  {shown(change.claim_id)} {side:<6} {text}")
    for name, groups in comparison.groups.items():
        moved = [g for g in groups if g.payable_change or g.claimed_change]
        if not moved:
            continue
        grouped = Table(title=f"by {shown(name)}", header_style="bold")
        for column in ("", "claimed before", "claimed after", "payable before", "payable after",
                       "change"):  # fmt: skip
            grouped.add_column(column or shown(name), justify="right" if column else "left")
        for g in moved:
            grouped.add_row(
                shown(g.key),
                format_money(g.before.claimed),
                format_money(g.after.claimed),
                format_money(g.before.payable),
                format_money(g.after.payable),
                _signed(format_money(g.payable_change)),
            )
        console.print(grouped)
    lines = [line for line in comparison.lines if line.changed]
    if lines:
        settled = Table(title="settlement lines that changed", header_style="bold")
        for column in ("settlement", "party", "item", "before", "after", "change"):
            settled.add_column(
                column, justify="right" if column in ("before", "after", "change") else "left"
            )
        for line in lines:
            settled.add_row(
                shown(line.settlement),
                shown(line.party),
                shown(line.item),
                format_money(line.before) if line.before is not None else "-",
                format_money(line.after) if line.after is not None else "-",
                _signed(format_money(line.change)),
            )
        console.print(settled)
    colours = {"holds": "green", "fails": "red", "warning": "yellow"}
    same = Counter(state.before for state in comparison.states if state.verdict == "same")
    if same:
        kept = ", ".join(f"{n} {what}" for what, n in sorted(same.items()))
        console.print(f"checks and invariants unchanged: {kept}")
    for state in comparison.states:
        if state.verdict == "same":
            continue
        before = f"[{colours.get(state.before, 'dim')}]{state.before}[/]"
        after = f"[{colours.get(state.after, 'dim')}]{state.after}[/]"
        mark = " [bold red]BROKEN by this change[/bold red]" if state.verdict == "broken" else ""
        console.print(f"{state.kind} {shown(state.name)}: {before} -> {after}{mark}")


def _check_keeping(
    policy: Policy,
    claims: Path,
    keep: list[str],
    fmt: str,
    output: Path | None,
    pseudonymise: bool,
    engine: str,
) -> None:
    from policylang.impact.keep import kept_columns, parse_keep, write_kept
    from policylang.io.claims import RawClaims, pseudonymised, read_claims

    if engine != "interpret":
        err.print("note: --keep joins the claim rows in Python: using the interpreter")
    names = parse_keep(keep)
    with gc_paused():
        try:
            rows = read_claims(claims)
            raw = list(pseudonymised(rows) if pseudonymise else rows)
            kept = kept_columns(raw, names, str(claims))
            decisions, invariants = policy.check_invariants(RawClaims(raw))
        except PolicyError as error:
            _fail(error)
        handle: Any = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            if fmt == "table":
                console = Console(file=handle, highlight=False, soft_wrap=True) if output else out
                listing = Table(header_style="bold")
                for column in ("claim", *names, "status", "claimed", "payable", "title"):
                    right = column in ("claimed", "payable")
                    listing.add_column(shown(column), justify="right" if right else "left")
                limit = len(decisions) if output else 200
                for d, k in list(zip(decisions, kept, strict=True))[:limit]:
                    listing.add_row(
                        shown(d.claim_id),
                        *(shown(k[name]) for name in names),
                        d.status,
                        format_money(d.claimed) if d.claimed is not None else "",
                        format_money(d.payable),
                        shown(d.title or ""),
                    )
                console.print(listing)
                console.print(_summary_text(Summary.of(decisions)))
            else:
                write_kept(decisions, kept, names, fmt, handle, invariants)
        finally:
            if output:
                handle.close()
    if fmt != "table" or output:
        err.print(_summary_text(Summary.of(decisions)))
    _end_check(_any_refused(decisions), invariants)


_stopped_by: list[int] = []


def _stop(signum: int, frame: Any) -> NoReturn:
    _stopped_by.append(signum)
    raise KeyboardInterrupt  # DuckDB stops its query for this one (as "Query interrupted")


def main() -> None:
    # Ctrl-C and SIGTERM (kill, a service manager stopping a job) end the run through the
    # `finally` blocks, which remove the spill directory of claim data (docs/security.md), and
    # exit 128 + the signal's number, whatever the interrupted library made of it
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        app()
    except BaseException:
        if not _stopped_by:
            raise
        err.print(Text("interrupted", style="bold red"))
        raise SystemExit(128 + _stopped_by[0]) from None


# ---------------------------------------------------------------- editor support (docs/editors.md)
# `lsp`, and what editors and CI call: `lint --format json`, `fmt --diff` and `fmt -`.


def diagnostic_json(diagnostic: Diagnostic) -> dict[str, Any]:
    """A diagnostic as JSON: 1-based line and column of its start and end, as `check` prints."""
    found: dict[str, Any] = {
        "code": diagnostic.code,
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "help": diagnostic.help,
        "notes": list(diagnostic.notes),
        "file": None,
        "line": None,
        "column": None,
        "end_line": None,
        "end_column": None,
    }
    span = diagnostic.span
    if span is not None and span.source.text:
        line, column = span.source.line_col(span.start)
        end_line, end_column = span.source.line_col(max(span.end, span.start))
        found.update(file=span.source.name, line=line, column=column)
        found.update(end_line=end_line, end_column=end_column)
    return found


def _lint_findings(
    policy: Policy, rules: list[Path], sources: list[Path], show: bool = False
) -> list[Diagnostic]:
    """Everything lint reports: the checker's warnings, lint's own findings and, with `sources`,
    the citations to missing or blank lines (with `show`, each citation's text printed first)."""
    from policylang.lint import lint as run_lint

    findings = [*policy.warnings, *run_lint(policy.program)]
    if sources:
        from policylang.citations import check_sources, show_sources

        files = load_files(rules)  # a Policy keeps no syntax trees, and citations live in them
        if show:
            for text in show_sources(files, sources):
                out.print(Text(text))
        findings += check_sources(files, sources)
    return findings


def _lint_json(rules: list[Path], sources: list[Path]) -> NoReturn:
    """Findings, or the errors that stopped the policy loading, as one JSON list on stdout."""
    try:
        policy = load(*rules)
    except PolicyError as error:
        sys.stdout.write(json.dumps([diagnostic_json(d) for d in error.diagnostics], indent=2))
        sys.stdout.write("\n")
        raise typer.Exit(2) from error
    findings = _lint_findings(policy, rules, sources)
    sys.stdout.write(json.dumps([diagnostic_json(d) for d in findings], indent=2) + "\n")
    raise typer.Exit(1 if findings else 0)


def _unified_diff(before: str, after: str, name: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"{name} (as written)",
        tofile=f"{name} (formatted)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _fmt_stdin(check: bool, diff: bool) -> NoReturn:
    """`fmt -`: the formatted text on stdout (an editor's format-on-save), or with --check or
    --diff only whether, or what, would change."""
    from policylang.format import format_module
    from policylang.syntax.parser import parse

    text = sys.stdin.read()
    try:
        formatted = format_module(parse(text, "<stdin>"))
    except PolicyError as error:
        _fail(error)
    if diff:
        sys.stdout.write(_unified_diff(text, formatted, "<stdin>"))
    elif not check:
        sys.stdout.write(formatted)
    raise typer.Exit(1 if (check or diff) and formatted != text else 0)


@app.command()
def lsp() -> None:
    """Run the language server over stdio, for editors (docs/editors.md)."""
    try:  # pygls is the optional `lsp` extra, imported only here
        from policylang.lsp.server import serve
    except ImportError as error:
        err.print(
            escape(
                f"error: the language server needs pygls: pip install 'policylang[lsp]' ({error})"
            )
        )
        raise typer.Exit(2) from error
    serve()


if __name__ == "__main__":  # pragma: no cover
    main()

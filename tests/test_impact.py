"""`policylang diff` / `report` and `policylang.diff`: the impact of a rule change (docs/impact.md).

The expected figures are worked out by hand from examples/claims.csv and examples/README.md, not
read back from the engine: lowering the meekijkconsult maximum tariff from EUR 75.00 to EUR 70.00
touches exactly the two meekijkconsult claims, CL001 (claimed 75.00, paid in full today) and CL002
(claimed 95.00, paid 75.00 today), both of hospital 06010203, for insurers 3311 and 7029, in
February 2026; every other claim and the example's total (EUR 13,287.05) stay as they are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import policylang
from policylang.cli import app
from policylang.impact.export import neutralise
from tests.conftest import ROOT

CLAIMS = ROOT / "examples" / "claims.csv"
TARIFF_FILE = "betaaltitels_passende_zorg.policy"
TARIFF_75 = "parameter tarief_meekijkconsult: money\n" + (
    '  source "001_158c496e59021edc.txt:1186-1188"\n'
    '  assumption "no tariff in any source; illustrative maximum tariff"\n'
    "  from 2026-01-01 = EUR 75.00\n"
)
# the title meekijkconsult's citations, all of them
SOURCE = "001_158c496e59021edc.txt:1186-1188; 001_158c496e59021edc.txt:658-660; 001_158c496e59021edc.txt:774"


def lowered_tariff(target: Path) -> Path:
    """A copy of rules/ with the meekijkconsult maximum tariff lowered to EUR 70.00."""
    rules = target / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / TARIFF_FILE
    text = path.read_text(encoding="utf-8")
    assert TARIFF_75 in text  # the shipped rule this test changes
    path.write_text(text.replace(TARIFF_75, TARIFF_75.replace("75.00", "70.00")), encoding="utf-8")
    return rules


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_lowered_tariff_changes_two_claims_with_their_reasons(tmp_path: Path) -> None:
    comparison = policylang.diff(ROOT / "rules", lowered_tariff(tmp_path), claims=CLAIMS)
    assert comparison.changed
    found = {c.claim_id: c for c in comparison.changes}
    assert sorted(found) == ["CL001", "CL002"]

    cl001 = found["CL001"]
    assert cl001.fields == ("status", "payable")
    assert (cl001.before.status, cl001.after.status) == ("accepted", "adjusted")
    assert (cl001.before.payable, cl001.after.payable) == (Decimal("75.00"), Decimal("70.00"))
    assert cl001.reason_before is None  # the base side had only the "funded as" reason
    assert cl001.reason_after == policylang.Reason(
        "meekijkconsult",
        "claimed EUR 75.00 is above the maximum tariff EUR 70.00 x 1 = EUR 70.00",
        SOURCE,
    )
    assert (cl001.provider, cl001.insurer) == ("06010203", "3311")

    cl002 = found["CL002"]
    assert cl002.fields == ("payable",)
    assert cl002.payable_change == Decimal("-5.00")
    assert cl002.reason_before == policylang.Reason(
        "meekijkconsult",
        "claimed EUR 95.00 is above the maximum tariff EUR 75.00 x 1 = EUR 75.00",
        SOURCE,
    )
    assert cl002.reason_after is not None
    assert cl002.reason_after.message == (
        "claimed EUR 95.00 is above the maximum tariff EUR 70.00 x 1 = EUR 70.00"
    )
    assert cl002.reason_after.source == SOURCE


def test_money_per_group_before_and_after(tmp_path: Path) -> None:
    comparison = policylang.diff(ROOT / "rules", lowered_tariff(tmp_path), claims=CLAIMS)

    def moved(grouping: str) -> dict[str, Decimal]:
        return {g.key: g.payable_change for g in comparison.groups[grouping] if g.payable_change}

    assert moved("provider") == {"06010203": Decimal("-10.00")}
    assert moved("insurer") == {"3311": Decimal("-5.00"), "7029": Decimal("-5.00")}
    assert moved("title") == {"meekijkconsult": Decimal("-10.00")}
    assert moved("funding") == {"production": Decimal("-10.00")}
    assert moved("month") == {"2026-02": Decimal("-10.00")}
    meekijk = next(g for g in comparison.groups["title"] if g.key == "meekijkconsult")
    # claimed 75.00 + 95.00; paid 75.00 + 75.00 before, 70.00 + 70.00 after
    assert (meekijk.before.claimed, meekijk.after.claimed) == (Decimal("170.00"),) * 2
    assert (meekijk.before.payable, meekijk.after.payable) == (
        Decimal("150.00"),
        Decimal("140.00"),
    )
    summary = comparison.summary_json()
    assert (summary["payable_before"], summary["payable_after"]) == ("13287.05", "13277.05")
    assert summary["payable_change"] == "-10.00"
    assert summary["by_status_before"] == {
        "accepted": 17,
        "adjusted": 5,
        "rejected": 11,
        "error": 5,
    }
    assert summary["by_status_after"] == {
        "accepted": 16,
        "adjusted": 6,
        "rejected": 11,
        "error": 5,
    }


def test_a_claim_column_named_with_by_is_a_grouping(tmp_path: Path) -> None:
    comparison = policylang.diff(
        ROOT / "rules", lowered_tariff(tmp_path), claims=CLAIMS, by=["referrer"]
    )
    moved = {g.key: g.payable_change for g in comparison.groups["referrer"] if g.payable_change}
    assert moved == {"huisarts": Decimal("-5.00"), "wijkverpleging": Decimal("-5.00")}


def test_exit_statuses_like_diff(tmp_path: Path) -> None:
    rules = str(ROOT / "rules")
    assert run_cli("diff", rules, rules, "--claims", str(CLAIMS))[0] == 0
    code, _, stderr = run_cli("diff", rules, str(lowered_tariff(tmp_path)), "--claims", str(CLAIMS))
    assert code == 1
    assert "2 claims changed; payable EUR 13287.05 -> EUR 13277.05 (-10.00)" in stderr
    code, _, stderr = run_cli("diff", rules, str(tmp_path / "nowhere"), "--claims", str(CLAIMS))
    assert code == 2
    assert "error[E0801]: rules `" in stderr
    code, _, stderr = run_cli("diff", rules, rules, "--claims", str(CLAIMS), "--format", "xml")
    assert (code, stderr.strip()) == (
        2,
        "error: unknown --format `xml`; use table, json, csv, html or xlsx",
    )
    code, _, stderr = run_cli("diff", rules, rules, "--claims", str(CLAIMS), "--by", "colour")
    assert code == 2
    assert "error[E0854]: `--by colour`: the claims file" in stderr
    code, _, stderr = run_cli("diff", rules, "--claims", str(CLAIMS))
    assert code == 2
    assert "error[E0855]: nothing to compare against" in stderr


def test_the_terminal_table_shows_the_change_and_the_cited_reasons(tmp_path: Path) -> None:
    code, _, _ = run_cli(
        "diff", str(ROOT / "rules"), str(lowered_tariff(tmp_path)), "--claims", str(CLAIMS),
        "--output", str(tmp_path / "out.txt"),
    )  # fmt: skip
    text = (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert code == 1
    assert "accepted -> adjusted" in text
    assert "75.00 -> 70.00" in text
    assert "claimed EUR 95.00 is above the maximum tariff EUR 70.00 x 1 = EUR 70.00" in text
    assert f"({SOURCE})" in text
    assert "06010203" in text and "-10.00" in text


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def test_rules_from_git_revisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(ROOT / "rules", repo / "rules")
    _git(repo, "init", "-q")
    _git(repo, "add", "rules")
    _git(repo, "commit", "-qm", "tariff 75")
    _git(repo, "tag", "v2026.1")
    changed = lowered_tariff(tmp_path / "changed")
    shutil.copy(changed / TARIFF_FILE, repo / "rules" / TARIFF_FILE)
    _git(repo, "commit", "-qam", "tariff 70")
    (repo / "rules" / TARIFF_FILE).write_text("this would not parse", encoding="utf-8")
    monkeypatch.chdir(repo)  # a dirty working tree: revisions are read, nothing is checked out

    comparison = policylang.diff("rules@v2026.1", "rules@HEAD", claims=CLAIMS)
    assert sorted(c.claim_id for c in comparison.changes) == ["CL001", "CL002"]
    assert comparison.summary_json()["payable_change"] == "-10.00"
    assert (repo / "rules" / TARIFF_FILE).read_text(encoding="utf-8") == "this would not parse"
    assert run_cli("diff", "rules@HEAD~1", "rules@HEAD", "--claims", str(CLAIMS))[0] == 1
    assert run_cli("diff", "rules@HEAD", "rules@HEAD", "--claims", str(CLAIMS))[0] == 0

    code, _, stderr = run_cli("diff", "rules@v1999", "rules@HEAD", "--claims", str(CLAIMS))
    assert code == 2
    assert "error[E0852]: unknown git revision `v1999`" in stderr
    code, _, stderr = run_cli("diff", "regels@HEAD", "rules@HEAD", "--claims", str(CLAIMS))
    assert code == 2
    assert "error[E0853]: `regels` does not exist at git revision `HEAD`" in stderr

    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    monkeypatch.chdir(outside)
    code, _, stderr = run_cli("diff", "rules@HEAD", str(ROOT / "rules"), "--claims", str(CLAIMS))
    assert code == 2
    assert "error[E0851]: `rules@HEAD` names a git revision, but `" in stderr


def _claims_with(tmp_path: Path, edit: dict[str, str], drop: str, extra: str) -> Path:
    """examples/claims.csv with some amounts changed, one claim dropped and one line added."""
    lines = CLAIMS.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        claim_id = line.split(",", 1)[0]
        if claim_id == drop:
            continue
        if claim_id in edit:
            cells = line.split(",")
            cells[8] = edit[claim_id]
            line = ",".join(cells)
        out.append(line)
    out.append(extra)
    path = tmp_path / "claims_new.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def test_one_policy_over_two_claim_files(tmp_path: Path) -> None:
    newer = _claims_with(
        tmp_path,
        {"CL002": "70.00"},
        drop="CL004",
        extra="=CL099,06020405,3311,P-0199,PB0001,2026-03-02,,1,60.00,huisarts,,,,,",
    )
    comparison = policylang.diff(ROOT / "rules", claims=CLAIMS, against=newer)
    assert comparison.mode == "claims"
    found = {c.claim_id: c for c in comparison.changes}
    assert sorted(found) == ["=CL099", "CL002", "CL004", "CL021"]
    # the duplicate CL021 stays an error, but its reason names the row of the first CL021,
    # one row up now that CL004 is gone: a change in reasons only, shown as such
    assert found["CL021"].fields == ("reasons",)
    assert found["CL021"].reason_after.message == (
        "claim_id `CL021` appears more than once (first in row 20)"
    )
    assert (found["CL002"].kind, found["CL002"].payable_change) == ("changed", Decimal("-5.00"))
    assert found["CL002"].after.status == "accepted"
    # CL004: advies 3e lijn, 120.00 accepted (examples/README.md), gone from the new file
    assert (found["CL004"].kind, found["CL004"].payable_change) == ("removed", Decimal("-120.00"))
    assert (found["=CL099"].kind, found["=CL099"].payable_change) == ("added", Decimal("60.00"))
    provider = {g.key: g for g in comparison.groups["provider"]}
    assert provider["06020405"].payable_change == Decimal("-60.00")  # -120.00 + 60.00
    assert (provider["06020405"].before.claims, provider["06020405"].after.claims) == (9, 9)
    assert {g.key: g.payable_change for g in comparison.groups["month"]}["2026-03"] == Decimal(
        "60.00"
    )

    code, _, _ = run_cli(
        "diff", str(ROOT / "rules"), "--claims", str(CLAIMS), "--against", str(newer),
        "--format", "csv", "--output", str(tmp_path / "changes.csv"),
    )  # fmt: skip
    assert code == 1
    rows = (tmp_path / "changes.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("claim_id,kind,provider,insurer,changed,status_before")
    assert rows[1].startswith(
        "CL002,changed,06010203,7029,status payable,adjusted,accepted,75.00,70.00,-5.00,"
    )
    assert rows[2].startswith("CL004,removed,06020405,3311,")
    assert rows[3].startswith("CL021,changed,06010203,3311,reasons,error,error,0.00,0.00,0.00,")
    assert rows[4].startswith("'=CL099,added,06020405,3311,")  # a formula cell, neutralised


def test_neutralise_only_touches_formula_starts() -> None:
    # the rule of check --format csv: a plain number (+31, -5.00) stays a number
    values = ("=1+1", "+1+1", "+31", "-5.00", "-x", "@sum", "\tx", "CL001", "", None)
    assert [neutralise(v) for v in values] == [
        "'=1+1", "'+1+1", "+31", "-5.00", "'-x", "'@sum", "'\tx", "CL001", "", "",
    ]  # fmt: skip


PARTIES = "party,weight\na,1\nb,1\nc,1\n"
SETTLEMENT = """
table parties key party {
  party: code
  weight: decimal
}

parameter pot: money
  from 2026-01-01 = EUR 100.00

settlement shares per p in parties {
  let part = PART
  line "part" = part
}

check shares_add_up_to_the_pot { holds sum(x.amount for x in lines where x.item == "part") == pot }
"""


def test_a_change_that_breaks_budget_neutrality(tmp_path: Path) -> None:
    """Three equal parties share EUR 100.00: prorate gives 33.34 + 33.33 + 33.33 (the pot);
    rounding each third on its own gives 3 x 33.33 = 99.99, one cent short."""
    for name, part in (("base", "prorate(pot by p.weight)"), ("new", "round(pot / 3)")):
        (tmp_path / name).mkdir()
        text = SETTLEMENT.replace("PART", part)
        (tmp_path / name / "shares.policy").write_text(text, encoding="utf-8")
    (tmp_path / "parties.csv").write_text(PARTIES, encoding="utf-8")
    claims = tmp_path / "claims.csv"
    claims.write_text("claim_id,provider,insurer,patient,code,start_date,quantity,amount\n")
    comparison = policylang.diff(
        tmp_path / "base",
        tmp_path / "new",
        claims=claims,
        tables={"parties": tmp_path / "parties.csv"},
        settlements=["shares"],
        year=2026,
    )
    lines = {(x.party, x.item): (x.before, x.after, x.change) for x in comparison.lines}
    assert lines == {
        ("a", "part"): (Decimal("33.34"), Decimal("33.33"), Decimal("-0.01")),
        ("b", "part"): (Decimal("33.33"), Decimal("33.33"), Decimal("0.00")),
        ("c", "part"): (Decimal("33.33"), Decimal("33.33"), Decimal("0.00")),
    }
    [state] = comparison.states
    assert (state.name, state.before, state.after, state.verdict) == (
        "shares_add_up_to_the_pot",
        "holds",
        "fails",
        "broken",
    )
    assert state.detail_after == "99.99 == 100.00"
    assert comparison.summary_json()["broken"] == ["shares_add_up_to_the_pot"]
    assert comparison.changed and not comparison.changes  # no claim changed, the settlement did

    code, stdout, _ = run_cli(
        "diff", str(tmp_path / "base"), str(tmp_path / "new"), "--claims", str(claims),
        "--table", f"parties={tmp_path / 'parties.csv'}", "--settlement", "shares",
        "--year", "2026",
    )  # fmt: skip
    assert code == 1
    assert "check shares_add_up_to_the_pot: holds -> fails BROKEN by this change" in stdout


def test_tables_per_side_change_a_contract_settlement(tmp_path: Path) -> None:
    """The revenue ceiling of 06018105 at 3343 raised from 5,000.00 to 6,000.00: claims of
    8,400.00 (examples/contracts/README.md) are paid 6,000.00, 1,000.00 more."""
    contracts = ROOT / "examples" / "contracts"
    raised = tmp_path / "revenue_ceilings.csv"
    raised.write_text(
        (contracts / "revenue_ceilings.csv")
        .read_text(encoding="utf-8")
        .replace("06018105,3343,5000.00", "06018105,3343,6000.00"),
        encoding="utf-8",
    )
    tables = {
        name: contracts / f"{name}.csv"
        for name in ("lump_sums", "market_shares", "population_contracts")
    }
    comparison = policylang.diff(
        ROOT / "rules",
        ROOT / "rules",
        claims=contracts / "claims.csv",
        tables=tables,
        base_tables={"revenue_ceilings": contracts / "revenue_ceilings.csv"},
        new_tables={"revenue_ceilings": raised},
        settlements=["omzetplafond"],
    )
    assert comparison.changes == ()
    moved = {(x.party, x.item): (x.before, x.after) for x in comparison.lines if x.changed}
    paid = [v for (party, item), v in moved.items() if party.startswith("06018105/3343")]
    assert (Decimal("5000.00"), Decimal("6000.00")) in paid
    assert (Decimal("3400.00"), Decimal("2400.00")) in paid  # above the ceiling


def test_json_has_stable_keys_and_exact_figures(tmp_path: Path) -> None:
    code, _, _ = run_cli(
        "diff", str(ROOT / "rules"), str(lowered_tariff(tmp_path)), "--claims", str(CLAIMS),
        "--format", "json", "--output", str(tmp_path / "diff.json"),
    )  # fmt: skip
    assert code == 1
    data = json.loads((tmp_path / "diff.json").read_text(encoding="utf-8"))
    assert list(data) == [
        "mode", "base", "new", "changed", "summary", "changes", "groups",
        "settlement_lines", "checks_and_invariants",
    ]  # fmt: skip
    assert list(data["groups"]) == ["provider", "insurer", "title", "funding", "month"]
    assert data["changes"][0] == {
        "claim_id": "CL001",
        "kind": "changed",
        "provider": "06010203",
        "insurer": "3311",
        "changed": ["status", "payable"],
        "before": {
            "status": "accepted",
            "claimed": "75.00",
            "payable": "75.00",
            "title": "meekijkconsult",
            "funding": "production",
        },
        "after": {
            "status": "adjusted",
            "claimed": "75.00",
            "payable": "70.00",
            "title": "meekijkconsult",
            "funding": "production",
        },
        "payable_change": "-5.00",
        "reason_before": None,
        "reason_after": {
            "rule": "meekijkconsult",
            "message": "claimed EUR 75.00 is above the maximum tariff EUR 70.00 x 1 = EUR 70.00",
            "source": SOURCE,
        },
    }
    provider = {g["key"]: g for g in data["groups"]["provider"]}
    assert provider["06010203"]["payable_before"] == "4885.30"
    assert provider["06010203"]["payable_after"] == "4875.30"
    states = {s["name"]: s["verdict"] for s in data["checks_and_invariants"]}
    assert states["rejected_pays_nothing"] == "same"


def html_diff(tmp_path: Path) -> Path:
    page = tmp_path / "diff.html"
    code, _, _ = run_cli(
        "diff", str(ROOT / "rules"), str(lowered_tariff(tmp_path)), "--claims", str(CLAIMS),
        "--format", "html", "--output", str(page),
    )  # fmt: skip
    assert code == 1
    return page


def test_the_html_page_holds_the_exact_figures_and_needs_no_network(tmp_path: Path) -> None:
    html = html_diff(tmp_path).read_text(encoding="utf-8")
    assert '<b id="payable-before">13287.05</b>' in html
    assert '<b id="payable-after">13277.05</b>' in html
    assert '<b id="payable-change" class="loss">-10.00</b>' in html
    assert '<g class="bar" data-label="06010203" data-value="-10.00">' in html
    assert '<g class="bar" data-label="7029" data-value="-5.00">' in html
    assert '<g class="bar" data-label="meekijkconsult" data-value="-10.00">' in html
    assert "claimed EUR 95.00 is above the maximum tariff EUR 70.00 x 1 = EUR 70.00" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


def test_the_html_escapes_what_the_claims_say(tmp_path: Path) -> None:
    newer = _claims_with(
        tmp_path, {}, drop="", extra="<b>x</b>,06020405,3311,P-1,PB0001,2026-03-02,,1,60.00,,,,,,"
    )
    comparison = policylang.diff(ROOT / "rules", claims=CLAIMS, against=newer)
    from policylang.impact.report import comparison_html

    html = comparison_html(comparison)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_report_of_one_run(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    code, _, stderr = run_cli(
        "report", str(ROOT / "rules"), "--claims", str(CLAIMS), "--output", str(page)
    )
    assert code == 0
    assert "38 claims: 17 accepted, 5 adjusted, 11 rejected, 5 error; claimed" in stderr
    html = page.read_text(encoding="utf-8")
    assert '<b id="payable">13287.05</b>' in html
    assert '<g class="bar" data-label="06010203" data-value="4885.30">' in html
    assert "<script" not in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip(
            "chromium is not installed (Debian: apt-get install -y chromium); .ci/run installs it"
        )
    page = html_diff(tmp_path)
    done = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
            "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "Uncaught" not in done.stderr  # no script error on the console
    assert '<b id="payable-change" class="loss">-10.00</b>' in dom
    assert dom.count('<g class="bar"') >= 3 + 3 + 1  # hospitals, insurers, titles
    assert 'data-label="06010203" data-value="-10.00"' in dom
    data = json.loads(
        run_cli(
            "diff", str(ROOT / "rules"), str(tmp_path / "rules"), "--claims", str(CLAIMS),
            "--format", "json",
        )[1]
    )  # fmt: skip
    for group in data["groups"]["insurer"]:  # the chart holds the JSON's figures
        assert f'data-label="{group["key"]}" data-value="{group["payable_change"]}"' in dom


def test_the_batch_engine_gives_the_same_comparison(tmp_path: Path) -> None:
    rules = lowered_tariff(tmp_path)
    interpreted = policylang.diff(ROOT / "rules", rules, claims=CLAIMS).to_json()
    batch = policylang.diff(ROOT / "rules", rules, claims=CLAIMS, engine="batch").to_json()
    assert batch == interpreted
    assert batch["summary"]["payable_change"] == "-10.00"


def test_check_keeps_claim_columns_beside_each_decision(tmp_path: Path) -> None:
    out = tmp_path / "decisions.csv"
    code, _, _ = run_cli(
        "check", str(ROOT / "rules"), "--claims", str(CLAIMS), "--keep", "provider,insurer",
        "--format", "csv", "--output", str(out),
    )  # fmt: skip
    assert code == 1  # the example has rejected claims, as without --keep
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "claim_id,provider,insurer,status,claimed,payable,title,funding,reasons"
    assert rows[2].startswith("CL002,06010203,7029,adjusted,95.00,75.00,meekijkconsult,production,")
    assert len(rows) == 1 + 38  # one decision per claim record, the broken rows too

    out = tmp_path / "decisions.jsonl"
    run_cli(
        "check", str(ROOT / "rules"), "--claims", str(CLAIMS), "--keep", "provider",
        "--keep", "patient", "--format", "jsonl", "--output", str(out),
    )  # fmt: skip
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["claim"] == {"provider": "06010203", "patient": "P-0101"}
    assert (first["claim_id"], first["payable"]) == ("CL001", "75.00")

    code, _, stderr = run_cli(
        "check", str(ROOT / "rules"), "--claims", str(CLAIMS), "--keep", "colour"
    )
    assert code == 2
    assert "error[E0856]: `--keep colour`: the claims file" in stderr


def test_an_excel_workbook_with_a_sheet_per_grouping(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl reads the workbook back")
    book_path = tmp_path / "impact.xlsx"
    newer = _claims_with(
        tmp_path,
        {},
        drop="",
        extra="=1+1,06020405,3311,P-1,PB0001,2026-03-02,,1,60.00,huisarts,,,,,",
    )
    code, _, _ = run_cli(
        "diff", str(ROOT / "rules"), "--claims", str(CLAIMS), "--against", str(newer),
        "--format", "xlsx", "--output", str(book_path),
    )  # fmt: skip
    assert code == 1
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == [
        "summary", "changes", "by provider", "by insurer", "by title", "by funding", "by month",
        "checks and invariants",
    ]  # fmt: skip
    changes = list(book["changes"].values)
    assert changes[1][:4] == ("=1+1", "added", "06020405", "3311")  # text, not a formula
    assert changes[1][9] == 60.0
    providers = {row[0]: row for row in list(book["by provider"].values)[1:]}
    assert providers["06020405"][5:8] == (5571.75, 5631.75, 60.0)
    assert run_cli("diff", str(ROOT / "rules"), str(ROOT / "rules"), "--claims", str(CLAIMS),
                   "--format", "xlsx")[0] == 2  # fmt: skip


def test_report_of_one_settlement_run(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    text = SETTLEMENT.replace("PART", "prorate(pot by p.weight)")
    (tmp_path / "rules" / "shares.policy").write_text(text, encoding="utf-8")
    (tmp_path / "parties.csv").write_text(PARTIES, encoding="utf-8")
    claims = tmp_path / "claims.csv"
    claims.write_text("claim_id,provider,insurer,patient,code,start_date,quantity,amount\n")
    page = tmp_path / "report.html"
    code, _, _ = run_cli(
        "report", str(tmp_path / "rules"), "--claims", str(claims), "--output", str(page),
        "--table", f"parties={tmp_path / 'parties.csv'}", "--settlement", "shares",
        "--year", "2026",
    )  # fmt: skip
    assert code == 0
    html = page.read_text(encoding="utf-8")
    assert '<td>a</td><td>part</td><td class="num">33.34</td>' in html
    assert '<td>c</td><td>part</td><td class="num">33.33</td>' in html
    assert "<td>shares_add_up_to_the_pot</td><td class>holds</td>" in html.replace(
        'class=""', "class"
    )


def test_diff_needs_the_claims(tmp_path: Path) -> None:
    code, _, stderr = run_cli("diff", str(ROOT / "rules"), str(ROOT / "rules"))
    assert code == 2
    assert "Missing option '--claims'" in stderr

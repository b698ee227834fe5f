"""Hypothesis contracts of the EI reader and writer."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.errors import InputError
from policylang.io.ei.layout import load_layout
from policylang.io.ei.reader import RecordReader, detect_layout, read_lines, read_records
from policylang.io.ei.validate import validate_records
from policylang.io.ei.writer import write_records, write_zh308, zh308_lines
from policylang.io.ei.zh308 import read_zh308_claims

LAYOUT = load_layout("ZH308v9.0")
ALNUM = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1)
DIGITS = "0123456789"


@st.composite
def claims(draw: st.DrawFn) -> list[dict[str, str | None]]:
    out = []
    for i in range(draw(st.integers(0, 6))):
        start = draw(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)))
        end = start + dt.timedelta(days=draw(st.integers(0, 400)))
        cents = draw(st.integers(-(10**8 - 1), 10**8 - 1))
        amount = (
            None
            if draw(st.booleans()) and i == 0
            else f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"
        )
        declaratiecode = draw(st.text("0123456789ABCDE", min_size=1, max_size=6))
        # an all-zero zorgproductcode means "not filled"; a DBC is matched by its zorgproduct
        zorgproduct = draw(st.none() | st.text(DIGITS, min_size=9, max_size=9).filter(
            lambda s: s.strip("0")
        ))  # fmt: skip
        out.append(
            {
                "claim_id": f"{i}-{draw(ALNUM.map(lambda s: s[:15]))}",
                # an all-zero AGB means "not filled" and is read as the header's provider
                "provider": draw(
                    st.text(DIGITS, min_size=8, max_size=8).filter(lambda s: s.strip("0"))
                ),
                "insurer": draw(st.sampled_from(["3311", "0101", "7029"])),
                "patient": draw(st.sampled_from(["012345672", "111222333", "000000019"])),
                "code": zorgproduct or declaratiecode,
                "declaratiecode": declaratiecode,
                "zorgproduct": zorgproduct,
                "zorgactiviteit": None,
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "quantity": str(draw(st.integers(1, 9999))),
                "amount": amount,
                "credit": "true" if amount and amount.startswith("-") else "false",
                "corrects": draw(st.none() | ALNUM.map(lambda s: s[:20])),
                "herdeclaratie": draw(st.sampled_from([None, "01", "02"])),
                "zorgtraject": draw(st.none() | ALNUM.map(lambda s: s[:15])),
                "subtraject": draw(st.none() | ALNUM.map(lambda s: s[:15])),
            }
        )
    return out


@settings(max_examples=60, deadline=None)
@given(claims())
def test_write_then_read_is_the_identity(generated: list[dict[str, str | None]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.zh308"
        write_zh308(generated, path)
        reader = read_zh308_claims(path)
        got = list(reader)
        expected_problems = [
            f"record {c.row} (type 04): prestatie has no tariff record (type 06)"
            for c in got
            if c.fields["amount"] is None
        ]
        # a claim without amount gets no tariff record, so it is read back with that problem
        assert [p.message for c in got for p in c.problems] == expected_problems
        assert [c.fields for c in got] == generated
        assert reader.problems == []
        # and record by record: read -> write -> read is the identity
        records = list(read_records(read_lines(path), LAYOUT))
        copy = Path(tmp) / "copy.zh308"
        write_records(records, copy, LAYOUT)
        assert list(read_records(read_lines(copy), LAYOUT)) == records
        assert copy.read_bytes() == path.read_bytes()


VALID = zh308_lines(
    [
        {
            "claim_id": f"R{i}", "provider": "06010101", "insurer": "3311",
            "patient": "012345672", "code": "15A123", "zorgproduct": "010501001",
            "start_date": "2025-01-06", "end_date": "2025-03-14", "quantity": "1",
            "amount": "12.50", "zorgtraject": "ZT1", "subtraject": f"ST{i}",
        }
        for i in range(3)
    ]
)  # fmt: skip


@st.composite
def garbled(draw: st.DrawFn) -> list[str]:
    lines = list(VALID)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        action = draw(st.sampled_from(["replace", "cut", "pad", "drop", "duplicate", "insert"]))
        if action == "replace":
            at = draw(st.integers(0, max(len(line) - 1, 0)))
            text = draw(
                st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=20)
            )
            lines[i] = line[:at] + text + line[at + len(text) :]
        elif action == "cut":
            lines[i] = line[: draw(st.integers(0, len(line)))]
        elif action == "pad":
            lines[i] = line + " " * draw(st.integers(1, 5))
        elif action == "drop" and len(lines) > 1:
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, line)
        elif action == "insert":
            lines.insert(
                i,
                draw(
                    st.text(
                        st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=700
                    )
                ),
            )
    return lines


@settings(max_examples=200, deadline=None)
@given(garbled())
def test_garbled_files_give_located_problems_never_exceptions(lines: list[str]) -> None:
    problems = validate_records(read_records(lines, LAYOUT), LAYOUT)
    for p in problems:
        assert 1 <= p.record_number <= max(len(lines), 1)
        assert p.message
        if p.field is not None and p.record_type is not None:
            f = LAYOUT.record_types[p.record_type].field(p.field)
            assert p.position == f.start
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "garbled.zh308"
        path.write_bytes("".join(line + "\r\n" for line in lines).encode("latin-1"))
        if detect_layout(lines[0] if lines else "") is None:
            # no header record, or an EI code without a layout: the file is reported as a
            # damaged Vektis file, no claim is read from it
            with pytest.raises(InputError, match="E0808"):
                read_zh308_claims(path)
            return
        reader = read_zh308_claims(path)
        got = list(reader)
        assert reader.problems == problems
        # every prestatie record is a claim of its own; a line of an unknown record type is a
        # claim of its own too, or (when it fits the layout of a tariff, zorgactiviteit or
        # comment record) one of its claim's records: its problem is in that claim
        rows = [claim.row for claim in got]
        assert len(rows) == len(set(rows))
        prestaties = {n for n, line in enumerate(lines, start=1) if line[:2] == "04"}
        assert prestaties <= set(rows)
        told = " ".join(p.message for claim in got for p in claim.problems)
        for number, line in enumerate(lines, start=1):
            if line.strip() and line[:2] not in LAYOUT.record_types and number not in rows:
                assert f"record {number} field KENMERK RECORD at position 1: unknown" in told


@settings(max_examples=300, deadline=None)
@given(garbled())
def test_fast_path_and_slow_path_agree(lines: list[str]) -> None:
    fast, slow = RecordReader(LAYOUT), RecordReader(LAYOUT)
    for number, line in enumerate(lines, start=1):
        record = fast.parse(number, line)
        plan = slow._plans.get(line[:2])
        if plan is None:
            continue
        careful = slow._slow(plan, number, line)
        assert record.values == careful.values
        assert record.problems == careful.problems

"""Claim files to fuzz with: seeds from examples/ and tests/fixtures/vektis, and mutations.

Each mutation is a function of the file's bytes and a Hypothesis `draw`, so a failing input
shrinks to a small edit of a real file. `claims_files()` draws (suffix, bytes): CSV, JSON Lines,
Parquet or Vektis ZH308.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "tests/fuzz/claims.policy"
CSV_SEEDS = [ROOT / "examples/claims.csv", ROOT / "tests/golden/decisions/core.csv"]
VEKTIS = ROOT / "tests/fixtures/vektis"
ZH308_SEEDS = sorted(VEKTIS.glob("*.zh308"))


def examples(default: int) -> int:
    """POLICYLANG_FUZZ_EXAMPLES=20000 runs the long fuzz (docs/reliability.md)."""
    return int(os.environ.get("POLICYLANG_FUZZ_EXAMPLES", default))


# Values a claim field can take that readers and typers must survive.
ODD_VALUES = [
    "", " ", "0", "-0", "-0.00", "12,50", "12.505", "1e5", "NaN", "Infinity", "٤٥.٠٠", "４５",
    "9" * 16 + ".99", "9" * 17, "9" * 27 + ".00", "9" * 5000, "-" + "9" * 19, "0.1250000000",
    "9999-12-31", "0001-01-01", "0000-01-01", "2026-02-30", "2026-W05-2", "٢٠٢٦-٠٢-٠٣",
    "true", "ja", "misschien", "CL\ud800", "é", "€", "\x00", "a\tb", '"', '""', "x" * 140_000,
]  # fmt: skip
ODD_BYTES = [b"\xe9", b"\x80", b"\xff\xfe", b"\xc3", b"\r", b"\n", b"\r\n", b'"', b",", b"\x00"]


def csv_seed(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    return rows[0], [r for r in rows[1:] if r]


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


@st.composite
def claim_table(draw: Any) -> tuple[list[str], list[list[str]]]:
    """A seed's header and rows, some rows cut short, some fields set to odd values."""
    header, rows = csv_seed(draw(st.sampled_from(CSV_SEEDS)))
    rows = rows[: draw(st.integers(0, len(rows)))]
    for _ in range(draw(st.integers(0, 4))):
        if not rows:
            break
        row = rows[draw(st.integers(0, len(rows) - 1))]
        column = draw(st.integers(0, len(header) - 1))
        if column < len(row):
            row[column] = draw(st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=12)))
    return header, rows


@st.composite
def byte_mutated(draw: Any, data: bytes) -> bytes:
    """`data` with a few bytes inserted, replaced, dropped or the file cut."""
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "replace", "drop", "cut", "line"]))
        piece = draw(st.one_of(st.sampled_from(ODD_BYTES), st.binary(max_size=6)))
        if action == "insert":
            data = data[:at] + piece + data[at:]
        elif action == "replace":
            data = data[:at] + piece + data[at + len(piece) :]
        elif action == "drop":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif action == "cut":
            data = data[:at]
        else:  # a line doubled or dropped
            lines = data.split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i]) if draw(st.booleans()) else lines.pop(i)
            data = b"\n".join(lines)
    return data


@st.composite
def csv_file(draw: Any) -> tuple[str, bytes]:
    header, rows = draw(claim_table())
    data = to_csv(header, rows)
    if draw(st.booleans()):
        data = draw(byte_mutated(data))
    if draw(st.integers(0, 9)) == 0:
        data = data.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r"])))
    return ".csv", data


@st.composite
def jsonl_file(draw: Any) -> tuple[str, bytes]:
    header, rows = draw(claim_table())
    lines = []
    for row in rows:
        record: dict[str, Any] = {k: v for k, v in zip(header, row, strict=False) if v != ""}
        if "quantity" in record and record["quantity"].isdigit() and draw(st.booleans()):
            record["quantity"] = int(record["quantity"])  # a JSON number, not text
        lines.append(json.dumps(record, ensure_ascii=draw(st.booleans())))
    odd = draw(
        st.sampled_from(
            [
                None,
                '{"claim_id": "CL\\ud800", "code": "990001"}',
                '{"claim_id": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
                '{"claim_id": "num", "x": ' + "9" * 5000 + "}",
                '{"claim_id": "amount", "amount": ' + "9" * 30 + "}",
                "[1, 2]",
                "{not json",
            ]
        )
    )
    if odd is not None:
        lines.insert(draw(st.integers(0, len(lines))), odd)
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = draw(byte_mutated(data))
    return ".jsonl", data


@st.composite
def parquet_file(draw: Any) -> tuple[str, bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    header, rows = draw(claim_table())
    columns: dict[str, Any] = {}
    for i, name in enumerate(header):
        values = [row[i] if i < len(row) and row[i] != "" else None for row in rows]
        values = [v.encode("utf-8", "replace").decode("utf-8") if v else v for v in values]
        columns[name] = pa.array(values, pa.string())
    if "amount" in columns and draw(st.booleans()):
        from decimal import Decimal, InvalidOperation

        amounts = []
        for value in columns["amount"].to_pylist():
            try:
                amount = Decimal(value) if value else None
                amounts.append(amount if amount is None or abs(amount) < 10**27 else None)
            except InvalidOperation:
                amounts.append(None)
        precision, scale = draw(st.sampled_from([(38, 10), (18, 2), (38, 0), (10, 4)]))
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError):  # keep the text column
            columns["amount"] = pa.array(amounts, pa.decimal128(precision, scale))
    out = io.BytesIO()
    pq.write_table(
        pa.table(columns) if columns else pa.table({"x": pa.array([], pa.string())}), out
    )
    return ".parquet", out.getvalue()


@st.composite
def zh308_file(draw: Any) -> tuple[str, bytes]:
    data = draw(st.sampled_from(ZH308_SEEDS)).read_bytes()
    lines = data.split(b"\r\n")
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, max(len(lines) - 2, 0)))
        line = lines[i]
        action = draw(st.sampled_from(["type", "cut", "byte", "drop", "double"]))
        if action == "type":
            lines[i] = draw(st.sampled_from([b"05", b"00", b"4 ", b"98", b"06"])) + line[2:]
        elif action == "cut":
            lines[i] = line[: draw(st.integers(0, len(line)))]
        elif action == "byte":
            at = draw(st.integers(0, max(len(line) - 1, 0)))
            lines[i] = line[:at] + draw(st.sampled_from(ODD_BYTES)) + line[at + 1 :]
        elif action == "drop" and len(lines) > 1:
            del lines[i]
        else:
            lines.insert(i, line)
    end = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    data = end.join(lines)
    if draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # cut in transfer
    return ".zh308", data


def claims_files() -> st.SearchStrategy[tuple[str, bytes]]:
    return st.one_of(csv_file(), jsonl_file(), parquet_file(), zh308_file())

"""Write `declaratie_2026.zh308`: a ZH308 v9.0 declaration as a hospital sends it.

`python examples/vektis/make_example.py` rewrites the file, byte for byte the same. The codes
are real: zorgproductcodes of the bundled NZa Zorgproducten Tabel v20241001 (DBC-pakket 2025,
policylang/data/nza/zorgproducten_2025.csv), zorgactiviteiten of the bundled NZa RZ17 table
(policylang/data/nza/zorgactiviteiten.csv), and each DBC's declaratiecode as the NZa RZ17
Product table gives it for that zorgproduct. AGB codes, BSNs (test numbers), trajectory numbers
and amounts are made up. README.md explains every decision.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from policylang.io.ei import write_zh308

HERE = Path(__file__).parent
HOSPITAL = "06010101"


def claim(claim_id: str, patient: str, insurer: str, code: str, start: str, amount: str,
          **more: str | None) -> dict[str, str | None]:  # fmt: skip
    return {
        "claim_id": claim_id, "provider": HOSPITAL, "insurer": insurer, "patient": patient,
        "code": code, "start_date": start, "end_date": more.pop("end_date", None) or start,
        "quantity": "1", "amount": amount, **more,
    }  # fmt: skip


def dbc(claim_id: str, patient: str, insurer: str, zorgproduct: str, declaratiecode: str,
        start: str, end: str, amount: str, traject: str, **more: str | None) -> dict[str, str | None]:  # fmt: skip
    return claim(
        claim_id, patient, insurer, zorgproduct, start, amount, end_date=end,
        zorgproduct=zorgproduct, declaratiecode=declaratiecode,
        zorgtraject=f"ZT{traject}", subtraject=f"ST{traject}", **more,
    )  # fmt: skip


CLAIMS = [
    # patient A: chemotherapy during an admission, with IC add-ons
    dbc("A-DBC", "012345672", "3311", "029299014", "15E195",
        "2026-02-02", "2026-03-30", "2345.60", "A1"),
    claim("A-IC1", "012345672", "3311", "190153", "2026-02-03", "2100.00"),
    claim("A-DIA", "012345672", "3311", "190156", "2026-02-03", "600.00"),
    claim("A-IC2", "012345672", "3311", "190155", "2026-02-04", "3750.00"),
    # patient B: a hip operation declared, credited and declared again with a corrected amount
    dbc("B-DBC", "111222333", "7029", "131999050", "15C695",
        "2026-01-12", "2026-04-20", "1875.00", "B1"),
    dbc("B-DBC-C", "111222333", "7029", "131999050", "15C695",
        "2026-01-12", "2026-04-20", "-1875.00", "B1", corrects="B-DBC"),
    dbc("B-DBC-R", "111222333", "7029", "131999050", "15C695",
        "2026-01-12", "2026-04-20", "1795.00", "B1", corrects="B-DBC", herdeclaratie="01"),
    # patient C: an SEH visit for low back pain, and three DBCs that are not paid
    claim("C-SEH", "123456782", "3311", "190015", "2026-05-09", "250.00"),
    dbc("C-DBC", "123456782", "3311", "990089010", "15B412",
        "2026-05-09", "2026-07-01", "640.00", "C1"),
    dbc("C-FAKE", "123456782", "3311", "990089000", "15B412",
        "2026-05-09", "2026-07-01", "640.00", "C2"),
    dbc("C-2028", "123456782", "3311", "029099017", "15C060",
        "2028-01-15", "2028-02-20", "980.00", "C3"),
    dbc("C-DBC-R", "123456782", "3311", "990089010", "15B412",
        "2026-05-09", "2026-07-01", "610.00", "C1", corrects="C-DBC", herdeclaratie="01"),
]  # fmt: skip


if __name__ == "__main__":
    write_zh308(
        CLAIMS,
        HERE / "declaratie_2026.zh308",
        invoice_number="2026-0815",
        invoice_date=dt.date(2027, 2, 28),
    )

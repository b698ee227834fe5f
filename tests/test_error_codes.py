"""Every diagnostic code the package can raise is documented in docs/errors.md."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _documented() -> tuple[set[str], list[tuple[int, int]], set[str]]:
    text = (ROOT / "docs/errors.md").read_text(encoding="utf-8")
    single = set(re.findall(r"\| (E\d{4}) \|", text))
    ranges = [(int(a), int(b)) for a, b in re.findall(r"E(\d{4})-E(\d{4})", text)]
    families = set(re.findall(r"## (E\d\d)xx", text))
    return single, ranges, families


def test_every_error_code_is_documented() -> None:
    used = set()
    for path in (ROOT / "policylang").rglob("*.py"):
        used |= set(re.findall(r'"(E\d{4})"', path.read_text(encoding="utf-8")))
    single, ranges, families = _documented()
    missing = sorted(
        code
        for code in used
        if code not in single
        and not any(low <= int(code[1:]) <= high for low, high in ranges)
        and code[:3] not in families - {"E01", "E02", "E03", "E04", "E05", "E06", "E07", "E08"}
    )
    assert missing == []

"""`check --keep provider,insurer`: decisions with chosen claim columns beside them.

The decisions carry no provider or insurer; a finance team wants them next to each decision to
total per hospital in another tool. The columns are taken from the claim rows by position
(decision i is claim record i) as the text that was written, so codes keep their leading zeros.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import IO, Any

from policylang.decision import Decision, Summary, format_money
from policylang.errors import InputError
from policylang.impact.export import neutralise
from policylang.io.raw import RawClaim


def parse_keep(values: Sequence[str]) -> list[str]:
    """`--keep provider,insurer --keep patient` -> the column names, in order, once each."""
    names = [name.strip() for value in values for name in value.split(",")]
    return list(dict.fromkeys(name for name in names if name))


def kept_columns(raw: Sequence[RawClaim], keep: Sequence[str], origin: str) -> list[dict[str, str]]:
    """Per claim record, the kept columns (an empty text where a row lacks the value)."""
    known = raw[0].fields if raw else {}
    for name in keep:
        if raw and name not in known:
            raise InputError.single(
                "E0856",
                f"`--keep {name}`: the claims file `{origin}` has no column `{name}`",
                help=f"columns: {', '.join(known) or 'none'}",
            )
    return [{name: (row.fields.get(name) or "") for name in keep} for row in raw]


def write_kept(
    decisions: Sequence[Decision],
    kept: Sequence[dict[str, str]],
    keep: Sequence[str],
    fmt: str,
    handle: IO[str],
    invariants: Sequence[Any] = (),
) -> None:
    """json, jsonl or csv, like `check`, with the kept columns under `claim` (JSON) or right
    after claim_id (CSV)."""
    rows = [{**d.to_json(), "claim": k} for d, k in zip(decisions, kept, strict=True)]
    if fmt == "json":
        summary = Summary.of(decisions).to_json()
        body = {
            "decisions": rows,
            "summary": summary,
            "invariants": [i.to_json() for i in invariants],
        }
        json.dump(body, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    elif fmt == "jsonl":
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        writer = csv.writer(handle)
        writer.writerow(
            ["claim_id", *keep, "status", "claimed", "payable", "title", "funding", "reasons"]
        )
        for d, k in zip(decisions, kept, strict=True):
            reasons = " | ".join(
                f"{r.rule}: {r.message}" + (f" ({r.source})" if r.source else "") for r in d.reasons
            )
            writer.writerow(
                [
                    neutralise(d.claim_id),
                    *(neutralise(k[name]) for name in keep),
                    d.status,
                    format_money(d.claimed) if d.claimed is not None else "",
                    format_money(d.payable),
                    neutralise(d.title),
                    neutralise(d.funding),
                    neutralise(reasons),
                ]
            )

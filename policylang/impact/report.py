"""The self-contained HTML page of a comparison (`diff --format html`) or of one run
(`policylang report`): one file, no script, no network; charts are inline SVG drawn from the
exact figures, and every figure is also in a table beside its chart.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2

from policylang.impact.diff import Comparison, check_state, invariant_state
from policylang.impact.run import Run, money, totals

TEMPLATES = Path(__file__).parent / "templates"
CHART_WIDTH = 360  # pixels for the longest bar; a zero bar has none


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # claim ids, titles and reasons are user input
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    return env


def bars(rows: list[tuple[str, Decimal]]) -> dict[str, Any]:
    """Bar geometry for a chart of signed amounts: bars to the right for a gain, to the left
    for a loss, scaled to the largest amount. The label carries the exact figure."""
    largest = max((abs(value) for _, value in rows), default=Decimal(0))
    left = CHART_WIDTH if any(value < 0 for _, value in rows) else 0
    right = CHART_WIDTH if any(value > 0 for _, value in rows) or not left else 0
    drawn = []
    for index, (label, value) in enumerate(rows):
        width = float(abs(value) / largest * CHART_WIDTH) if largest else 0.0
        drawn.append(
            {
                "label": label,
                "value": money(value),
                "x": round(left - width if value < 0 else left, 2),
                "width": round(width, 2),
                "y": index * 24,
                "loss": value < 0,
            }
        )
    return {"bars": drawn, "zero_x": left, "span": left + right, "height": max(len(rows), 1) * 24}


def comparison_html(comparison: Comparison, largest: int = 25) -> str:
    groups = comparison.groups
    charts = {
        name: bars([(g.key, g.payable_change) for g in groups[name]])
        for name in ("provider", "insurer")
    }  # every hospital and insurer; of the many titles only those whose money moved
    charts["title"] = bars([(g.key, g.payable_change) for g in groups["title"] if g.payable_change])
    return (
        _environment()
        .get_template("diff.html.j2")
        .render(
            c=comparison.to_json(),
            charts=charts,
            largest=[change.to_json() for change in comparison.largest(largest)],
            groupings=list(groups),
        )
    )


def run_html(side: Run, by: tuple[str, ...] = ()) -> str:
    """One run: summary, payable per hospital / insurer / title, refused claims, settlement."""
    groupings = list(dict.fromkeys(("provider", "insurer", "title", "funding", "month", *by)))
    groups = {
        name: [
            {
                "key": key,
                "claims": t.claims,
                "claimed": money(t.claimed),
                "payable": money(t.payable),
                "refused": money(t.claimed - t.payable),
            }
            for key, t in sorted(totals(side, name).items())
        ]
        for name in groupings
    }
    charts = {
        name: bars([(key, t.payable) for key, t in sorted(totals(side, name).items())])
        for name in ("provider", "insurer", "title")
    }
    refused = sorted(
        (d for d in side.decisions if d.status in ("rejected", "adjusted", "error")),
        key=lambda d: -((d.claimed or Decimal(0)) - d.payable),
    )[:25]
    settlement = side.settlement
    return (
        _environment()
        .get_template("run.html.j2")
        .render(
            run=side,
            summary=side.summary.to_json(),
            groups=groups,
            charts=charts,
            refused=[d.to_json() for d in refused],
            lines=[line.to_json() for line in settlement.lines] if settlement else [],
            checks=[
                {"name": c.name, "state": check_state(c), "detail": c.detail}
                for c in (settlement.checks if settlement else ())
            ],
            invariants=[{"name": i.name, "state": invariant_state(i)} for i in side.invariants],
        )
    )

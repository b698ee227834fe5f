"""Generate the SEH 2027 example: SEH locations, hospitals, claims and IZA expensive-drug data.

Deterministic (fixed seed, no clock): running it again rewrites the same files byte for byte.

    python examples/seh_2027/generate.py

All codes are fictitious but shaped like the real ones: 8-digit AGB codes starting with 06
(hospital care) for the hospitals (instellingen) and their SEH locations (vestigingen), 4-digit
UZOVI codes for the insurers. The claims bundle the SEH visits of one location on one day into one
line (quantity = visits): about 29,000 lines stand for about 2 million visits; see README.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).parent
SEED = 2027
BUDGET_24_7 = Decimal("4100000.00")
CENT = Decimal("0.01")
INSURERS = ("3311", "7029", "3343", "3313", "0101")
N_HOSPITALS = 68
N_LOCATIONS = 80
# Opening hours of the locations that are not open 24/7: 7x15, 7x13, 7x12, 5x12.
PART_TIME_HOURS = (105, 91, 84, 60)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def build(rng: random.Random) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    providers = sorted(rng.sample(range(10_000, 99_999), N_HOSPITALS))
    hospitals = [f"06{p:06d}"[:8] for p in providers]
    # The first 12 hospitals run a second SEH location: 68 + 12 = 80 locations.
    owners = hospitals + hospitals[:12]
    locations: list[dict[str, str]] = []
    for index, provider in enumerate(owners):
        second = index >= N_HOSPITALS
        location = provider[:6] + ("02" if second else "01")
        if second or index % 9 == 4:
            hours = PART_TIME_HOURS[index % len(PART_TIME_HOURS)]
            expected = rng.randrange(6_000, 14_000, 50)
        else:
            hours = 168
            expected = rng.randrange(16_000, 42_000, 50)
        # Some locations receive an SEH availability contribution today (the "gevoelige" SEHs).
        contribution = (
            Decimal(rng.randrange(900_000, 2_400_000, 10_000)) if index % 10 == 7 else Decimal(0)
        )
        locations.append(
            {
                "location": location,
                "provider": provider,
                "hours_per_week": str(hours),
                "expected_visits": str(expected),
                "availability_contribution": f"{contribution:.2f}",
            }
        )
    locations.sort(key=lambda row: row["location"])
    hospital_rows = []
    for provider in hospitals:
        own = [row for row in locations if row["provider"] == provider]
        visits = sum(int(row["expected_visits"]) for row in own)
        revenue = Decimal(rng.randrange(120_000_000, 1_100_000_000, 100_000))
        # SEH-related DBCs: roughly the DBCs opened after an SEH visit.
        volume = int(visits * rng.uniform(0.55, 0.8))
        hospital_rows.append(
            {"provider": provider, "revenue": f"{revenue:.2f}", "seh_dbc_volume": str(volume)}
        )
    return locations, hospital_rows


def tariff(row: dict[str, str]) -> Decimal:
    budget = money(BUDGET_24_7 * Decimal(row["hours_per_week"]) / 168)
    return money(budget / int(row["expected_visits"]))


def claims(rng: random.Random, locations: list[dict[str, str]]) -> list[dict[str, str]]:
    lines: list[dict[str, str]] = []
    # The last day of the availability contribution and the first day of the budget, one visit
    # each at the first location: the old way (190015, production) and the new way (SB0001).
    first = locations[0]
    lines.append(
        {
            "claim_id": "SEH-20261231-1",
            "provider": first["provider"],
            "insurer": "3311",
            "patient": "P-000001",
            "code": "190015",
            "start_date": "2026-12-31",
            "quantity": "1",
            "amount": "250.00",
            "seh_visit": "true",
            "location": first["location"],
        }
    )
    lines.append(
        {
            "claim_id": "SEH-20270101-1",
            "provider": first["provider"],
            "insurer": "3311",
            "patient": "P-000002",
            "code": "SB0001",
            "start_date": "2027-01-01",
            "quantity": "1",
            "amount": f"{tariff(first):.2f}",
            "seh_visit": "true",
            "location": first["location"],
        }
    )
    # A 2027 visit still claimed the old way: rejected, so it is not funded twice.
    lines.append(
        {
            "claim_id": "SEH-20270101-OLD",
            "provider": first["provider"],
            "insurer": "7029",
            "patient": "P-000003",
            "code": "190015",
            "start_date": "2027-01-01",
            "quantity": "1",
            "amount": "250.00",
            "seh_visit": "true",
            "location": first["location"],
        }
    )
    start = dt.date(2027, 1, 1)
    for row in locations:
        expected = int(row["expected_visits"])
        # Actual visits differ from the expectation by -12% .. +12%: settlement both ways.
        actual = round(expected * rng.uniform(0.88, 1.12))
        if row is first:
            actual -= 1  # the single visit on 2027-01-01 above
        per_day = [actual // 365 + (1 if d < actual % 365 else 0) for d in range(365)]
        rng.shuffle(per_day)
        price = tariff(row)
        for day, visits in enumerate(per_day):
            if visits == 0:
                continue
            date = start + dt.timedelta(days=day)
            lines.append(
                {
                    "claim_id": f"SEH-{row['location']}-{date:%m%d}",
                    "provider": row["provider"],
                    "insurer": INSURERS[day % len(INSURERS)],
                    "patient": f"SEH-DAY-{row['location']}-{date:%m%d}",
                    "code": "SB0001",
                    "start_date": date.isoformat(),
                    "quantity": str(visits),
                    "amount": f"{price * visits:.2f}",
                    "seh_visit": "true",
                    "location": row["location"],
                }
            )
    # A visit of the next year in the same file: `settle --year 2027` leaves it out, because the
    # settlement counts the visits of its year (`year by claim.start_date`).
    lines.append(
        {
            "claim_id": "SEH-20280229-1",
            "provider": first["provider"],
            "insurer": "3311",
            "patient": "P-000004",
            "code": "SB0001",
            "start_date": "2028-02-29",
            "quantity": "1",
            "amount": f"{tariff(first):.2f}",
            "seh_visit": "true",
            "location": first["location"],
        }
    )
    return lines


# Market shares of the insurers per location for inkoop in representatie
# (rules/seh_inkoop_representatie.policy): illustrative, the same at every location; the first
# insurer is the market leader that buys on behalf of the others.
MARKET_SHARES = (
    ("3311", "30%"),
    ("7029", "25%"),
    ("3343", "20%"),
    ("3313", "15%"),
    ("0101", "10%"),
)


def insurer_shares(locations: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {
            "location": row["location"],
            "insurer": insurer,
            "market_share": share,
            "market_leader": "true" if index == 0 else "false",
        }
        for row in locations
        for index, (insurer, share) in enumerate(MARKET_SHARES)
    ]


def segments(hospitals: list[dict[str, str]]) -> list[dict[str, str]]:
    """Illustrative share of each hospital's SEH-related DBC revenue in the regulated segment
    (rules/schoning.policy `schoning_segmenten`): 10%, 15%, .., 30% in turn."""
    return [
        {"provider": row["provider"], "regulated_share": f"{10 + 5 * (index % 5)}%"}
        for index, row in enumerate(hospitals)
    ]


def expensive_drugs() -> list[dict[str, str]]:
    # Illustrative realisations (EUR): the MSZ frame exceeded in 2024 and 2025, drug growth above
    # the threshold in 2024 (9%) and 2025 (6.5%).
    rows = [
        ("2023", "26150000000.00", "3000000000.00", "3180000000.00"),
        ("2024", "26600000000.00", "3180000000.00", "3466200000.00"),
        ("2025", "26700000000.00", "3466200000.00", "3691503000.00"),
        ("2026", "26577000000.00", "3691503000.00", "3839163120.00"),
    ]
    return [
        {
            "year": y,
            "msz_expenditure": m,
            "drugs_previous_year": p,
            "drugs_expenditure": d,
        }
        for y, m, p, d in rows
    ]


def write(name: str, rows: list[dict[str, str]]) -> None:
    with (HERE / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(SEED)
    locations, hospitals = build(rng)
    write("seh_locations.csv", locations)
    write("hospitals.csv", hospitals)
    write("claims_2027.csv", claims(rng, locations))
    write("seh_insurer_shares.csv", insurer_shares(locations))
    write("schoning_segmenten.csv", segments(hospitals))
    write("expensive_drugs.csv", expensive_drugs())


if __name__ == "__main__":
    main()

"""Compile a checked program to the SQL of phase 1: typing and the per-claim decision.

The query is a chain of projections over the input, one stage per step of the interpreter's
`decide`, so a reader can put the two side by side:

  typed     every field parsed from its text as io/claims.py does, problems as reasons
  elig      per payment title: not valid (I), the first failed condition (F), a failure (E), ok (O)
  dispatch  the outcome before pricing: no title, none valid, failure, rejected, conflict, title
  tariff    the chosen title's tariff, the payable amount before rules, the tariff reason
  rules     which rules apply, the exceptions that beat them, the winner
  final     status, payable, claimed, title, funding and the reasons as JSON text

Per-title columns are guarded by the claim's candidate titles (`_k`), so each row evaluates only
the conditions of the titles its code selects, as the interpreter does.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import attrs

from policylang import ir
from policylang.data.nza.known import (
    ACTIVITY_OTHER_DATE,
    ACTIVITY_VALID,
    KNOWN_COLUMNS,
    KNOWN_TEXT,
    ZORGPRODUCT,
)
from policylang.evaluate.batch.errors import UnsupportedInBatch
from policylang.evaluate.batch.expr import (
    ExprCompiler,
    S,
    col,
    first_error,
    in_codes,
    period_test,
    truthy,
)
from policylang.evaluate.batch.sqltext import (
    Msg,
    date_text,
    has_py_whitespace,
    jconst,
    jdyn,
    literal,
    money_text,
    py_strip,
    quote,
    reason,
    ws_literal,
)

# The plan tests every pair of rules of a title for a conflict, so its SQL grows with the square
# of their number (400 rules on one title took 3.2 GB to plan): more are left to the interpreter.
MAX_RULES_PER_TITLE = 32
MAX_COMBINATIONS = 512
DIGIT = "[0-9]"  # ASCII digits only, as io/claims.py
AMOUNT = rf"-?{DIGIT}{{1,16}}(\.{DIGIT}{{1,2}})?"  # io/claims.py MONEY_DIGITS
ANY_AMOUNT = rf"-?{DIGIT}+(\.{DIGIT}{{1,2}})?"
COMMA_AMOUNT = rf"-?{DIGIT}+,{DIGIT}{{1,2}}"
DECIMAL = rf"-?{DIGIT}+(\.{DIGIT}+)?"
INTEGER = rf"-?{DIGIT}+"
BOUNDED_INTEGER = rf"-?{DIGIT}{{1,18}}"  # io/claims.py INTEGER_DIGITS: what BIGINT holds
TRUE_WORDS = ("true", "1", "yes", "ja", "y", "j")
FALSE_WORDS = ("false", "0", "no", "nee", "n")


@attrs.frozen
class Phase1:
    sql: str  # SELECT over the relation `src` (columns _row and r_<field>)
    has_joins: bool


def fail(message: str) -> str:
    """SQL that aborts the query: the row needs the interpreter (the engine falls back)."""
    return f"error({quote('batch-fallback: ' + message)})"


def full(sql: str, pattern: str) -> str:
    return f"regexp_full_match({sql}, {quote(pattern)})"


def short(sql: str) -> str:
    """io/claims.py `_short`: a value over 40 characters as its first 16 and last 8."""
    return (
        f"(CASE WHEN length({sql}) <= 40 THEN {sql} "
        f"ELSE left({sql}, 16) || '...' || right({sql}, 8) END)"
    )


@attrs.frozen
class TypedField:
    """One claim field typed in SQL from its stripped text `t_<name>`."""

    value: str  # the typed value (reads `k_<name>` where `ok` is given)
    problem: str | None  # the reason (JSON text) when the text is not a value, else NULL
    ok: str | None  # the field's test (a regular expression...), computed once as `k_<name>`
    bad: str  # true where `problem` is not NULL: lets a clean row skip building problems


def field_sql(spec: ir.FieldSpec, program: ir.Program, raw_type: str) -> TypedField:
    """The value, problem and test of one claim field, from `t_<name>`, as io/claims.py."""
    name = spec.name
    t = f'"t_{name}"'
    k = f'"k_{name}"'
    missing = f"({t} IS NULL OR {t} = '')"
    if spec.has_default:
        default = literal(spec.default, spec.type)
        missing_problem = None
    else:
        default = "NULL"
        missing_problem = None if spec.optional else reason(name, f"missing field `{name}`", None)
    required = "TRUE" if missing_problem else "FALSE"
    bad = f"(CASE WHEN {missing} THEN {required} ELSE NOT {k} END)"

    def problem(*checks: tuple[str, str] | tuple[str, str, str]) -> str:
        # a check may name the SQL of the text shown (a value out of range is shortened)
        whens = "".join(
            f" WHEN {check[0]} THEN "
            f"{reason(name, Msg(f'field `{name}`: `', ('dyn', check[2] if len(check) > 2 else t), check[1]), None)}"
            for check in checks
        )
        return (
            f"(CASE WHEN {missing} THEN {missing_problem or 'NULL'} WHEN {k} THEN NULL{whens} END)"
        )

    type_ = spec.type
    if raw_type == "DATE" and type_ == "date":
        return TypedField(
            f'(CASE WHEN {missing} THEN {default} ELSE CAST("r_{name}" AS DATE) END)',
            f"(CASE WHEN {missing} THEN {missing_problem or 'NULL'} END)",
            None,
            f"({missing} AND {required})",
        )
    if type_ in ("text", "code"):
        return TypedField(
            f"(CASE WHEN {missing} THEN {default} ELSE {t} END)",
            f"(CASE WHEN {missing} THEN {missing_problem} END)" if missing_problem else None,
            None,
            f"({missing} AND {required})",
        )
    if type_ == "money":
        # a negative zero (-0.00) is zero, as io/claims.py reads it
        value = f"(CASE WHEN {missing} THEN {default} WHEN {k} THEN CAST({t} AS DECIMAL(18,2)) END)"
        return TypedField(
            value,
            problem(
                (
                    full(t, ANY_AMOUNT),
                    "` is out of range: an amount has at most 16 digits before the decimal point",
                    short(t),
                ),
                (full(t, COMMA_AMOUNT), "` is not an amount: use `.` as the decimal separator"),
                (full(t, DECIMAL), "` has more than two decimals: amounts are exact to the cent"),
                ("TRUE", "` is not an amount (write 12.50)"),
            ),
            full(t, AMOUNT),
            bad,
        )
    if type_ == "date":
        ok = (
            f"({full(t, '[0-9]{4}-[0-9]{2}-[0-9]{2}')} AND substr({t}, 1, 4) <> '0000' "
            f"AND TRY_CAST({t} AS DATE) IS NOT NULL)"
        )
        value = f"(CASE WHEN {missing} THEN {default} WHEN {k} THEN TRY_CAST({t} AS DATE) END)"
        return TypedField(value, problem(("TRUE", "` is not a date (YYYY-MM-DD)")), ok, bad)
    if type_ in ("integer", "days"):
        value = f"(CASE WHEN {missing} THEN {default} WHEN {k} THEN CAST({t} AS BIGINT) END)"
        return TypedField(
            value,
            problem(
                (
                    full(t, INTEGER),
                    "` is out of range: a whole number has at most 18 digits",
                    short(t),
                ),
                ("TRUE", "` is not a whole number"),
            ),
            full(t, BOUNDED_INTEGER),
            bad,
        )
    if type_ in ("decimal", "percent"):
        body = t
        percent = f"suffix({t}, '%')"
        if type_ == "percent":
            body = f"(CASE WHEN {percent} THEN trim(left({t}, length({t}) - 1), {ws_literal()}) ELSE {t} END)"
        # io/claims.py DECIMAL_DIGITS, DECIMAL_PLACES: what DECIMAL(38,12) holds
        exact = (
            f"(length(split_part({body}, '.', 2)) <= 12 AND "
            f"length(ltrim(split_part({body}, '.', 1), '-')) <= 24)"
        )
        parsed = f"CAST({body} AS DECIMAL(38,12))"
        if type_ == "percent":
            parsed = f"(CASE WHEN {percent} THEN {parsed} * CAST(0.01 AS DECIMAL(3,2)) ELSE {parsed} END)"
        value = f"(CASE WHEN {missing} THEN {default} WHEN {k} THEN {parsed} END)"
        message = Msg(
            f"field `{name}`: `",
            ("dyn", body),
            "` is not a number (use `.` as the decimal separator)",
        )
        wide = Msg(
            f"field `{name}`: `",
            ("dyn", short(body)),
            "` is out of range: a number has at most 24 digits before the decimal point and "
            "12 after it",
        )
        return TypedField(
            value,
            f"(CASE WHEN {missing} THEN {missing_problem or 'NULL'} "
            f"WHEN NOT {full(body, DECIMAL)} THEN {reason(name, message, None)} "
            f"WHEN NOT {k} THEN {reason(name, wide, None)} END)",
            f"({full(body, DECIMAL)} AND {exact})",
            bad,
        )
    if type_ == "bool":
        lowered = f"lower({t})"
        yes = ", ".join(quote(w) for w in TRUE_WORDS)
        no = ", ".join(quote(w) for w in FALSE_WORDS)
        value = (
            f"(CASE WHEN {missing} THEN {default} WHEN {lowered} IN ({yes}) THEN TRUE "
            f"WHEN {lowered} IN ({no}) THEN FALSE END)"
        )
        return TypedField(
            value,
            problem(("TRUE", "` is not true or false")),
            f"({lowered} IN ({yes}) OR {lowered} IN ({no}))",
            bad,
        )
    if type_.startswith("enum:"):
        members = program.enums[type_[5:]].members
        listed = ", ".join(quote(m) for m in members)
        value = f"(CASE WHEN {missing} THEN {default} WHEN {k} THEN {t} END)"
        return TypedField(
            value,
            problem(("TRUE", f"` is not one of {', '.join(members)}")),
            f"{t} IN ({listed})",
            bad,
        )
    raise UnsupportedInBatch([f"a claim field of type {type_}"])  # pragma: no cover


KNOWN_TABLE = "nza_known"  # registered by the engines from data/nza/known.py


def known_text(day: str) -> str:
    """The NZa part of "no payment title for code X on D", as known.no_title_message."""
    spans = [
        f'("nzak_from{i}" <= {day} AND {day} <= coalesce("nzak_to{i}", DATE \'9999-12-31\'))'
        for i in (1, 2)
    ]
    text = {kind: quote(jconst(message)) for kind, message in KNOWN_TEXT.items()}
    return (
        f'(CASE WHEN "nzak_kind" = {ZORGPRODUCT} THEN {text[ZORGPRODUCT]} '
        f'WHEN "nzak_kind" IS NOT NULL AND ({" OR ".join(spans)}) THEN {text[ACTIVITY_VALID]} '
        f'WHEN "nzak_kind" IS NOT NULL THEN {text[ACTIVITY_OTHER_DATE]} ELSE {text[None]} END)'
    )


def sign_problems(problems: str) -> str:
    """The row's problems with the sign of its amount checked, as credits.sign_problem."""
    amount = '"f_amount0"'
    text = ("safe", money_text(amount))
    on_credit = reason(
        "amount",
        Msg(
            "field `amount`: EUR ",
            text,
            " on a credit: a credit takes back an amount, written negative",
        ),
        None,
    )
    not_credit = reason(
        "amount",
        Msg(
            "field `amount`: EUR ",
            text,
            " is negative but the claim is not a credit: a credit line says `credit` true and "
            "names the claim it takes back in `corrects`",
        ),
        None,
    )
    return (
        f"(CASE WHEN {problems} <> '' THEN {problems} "
        f'WHEN "f_credit" AND {amount} > 0 THEN {on_credit} '
        f"WHEN NOT \"f_credit\" AND {amount} < 0 THEN {not_credit} ELSE '' END)"
    )


def standalone_credit_reason() -> str:
    """The reason of a credit decided on its own, as credits.standalone_reason."""
    corrects = '"f_corrects"'
    named = reason(
        "credit",
        Msg(
            "credit of claim `",
            ("dyn", corrects),
            "`, which is not in this claim set: decided by the same rules with its sign kept",
        ),
        None,
    )
    unnamed = reason(
        "credit",
        "credit that names no claim in `corrects`: decided by the same rules with its sign kept",
        None,
    )
    return (
        f'(CASE WHEN NOT "f_credit" THEN NULL WHEN {corrects} IS NULL THEN {unnamed} '
        f"ELSE {named} END)"
    )


def periods_text(spec: ir.TitleSpec) -> str:
    if not spec.validity:
        return "always"
    return "; ".join(
        f"from {p.start.isoformat()}" + (f" to {p.end.isoformat()}" if p.end else "")
        for p in spec.validity
    )


def funded_reason(program: ir.Program, title: str) -> str:
    """SQL for the reason "funded as LABEL (FUNDING)" of the title named by the column
    `title`; NULL where it names no title. A paid claim's `reasons` in the decided-claims
    table are NULL when this reason is all there is to say (see `Planner.build`)."""
    cases = " ".join(
        f"WHEN {quote(name)} THEN "
        + reason(name, f"funded as {spec.label} ({spec.funding})", spec.citation)
        for name, spec in program.titles.items()
    )
    return f"(CASE {title} {cases} END)" if cases else "NULL"


class Planner:
    def __init__(
        self,
        program: ir.Program,
        tables: dict[str, str],
        raw_types: dict[str, str],
        reader_problems: bool = False,
    ):
        self.program = program
        self.raw_types = raw_types
        # the source has `_rp`: the reader's problems of a row as reasons (JSON text), or NULL
        self.reader_problems = reader_problems
        self.ex = ExprCompiler(program, tables)

    # ------------------------------------------------------------ candidates
    def combinations(self) -> tuple[str, dict[int, tuple[str, ...]]]:
        """`_k` and the candidate titles (in `titles_for` order) of each value of `_k`."""
        titles = self.program.titles
        exact: dict[str, list[str]] = defaultdict(list)
        for name, spec in titles.items():
            for code in spec.codes.codes:
                exact[code].append(name)
        groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for code, names in exact.items():
            groups[tuple(names)].append(code)
        group_list = sorted(groups, key=lambda g: sorted(groups[g])[0])
        ranged = [name for name, spec in titles.items() if spec.codes.ranges]
        if (len(group_list) + 1) * 2 ** len(ranged) > MAX_COMBINATIONS:
            raise UnsupportedInBatch(["more overlapping code ranges than the batch plan unrolls"])
        code = col("code")
        xid = (
            "CASE "
            + "".join(
                f"WHEN {code} IN ({', '.join(quote(c) for c in sorted(groups[g]))}) THEN {i + 1} "
                for i, g in enumerate(group_list)
            )
            + "ELSE 0 END"
            if group_list
            else "0"
        )
        base = 2 ** len(ranged)
        mask = " + ".join(
            f"(CASE WHEN {in_codes(code, titles[n].codes)} THEN {2**i} ELSE 0 END)"
            for i, n in enumerate(ranged)
        )
        key = f"(({xid}) * {base}" + (f" + {mask})" if mask else ")")
        combos: dict[int, tuple[str, ...]] = {}
        for gi, group in enumerate([(), *group_list]):
            for bits in range(base):
                found = list(group)
                found += [n for i, n in enumerate(ranged) if bits >> i & 1 and n not in found]
                if found:
                    combos[gi * base + bits] = tuple(found)
        return key, combos

    def split_test(self) -> str:
        """True for a claim that a `split` declaration could judge (evaluate/splits.py): the
        batch engine does not compile splits, so such a claim makes the run fall back."""
        program = self.program
        network = [col(f) for f in ("role", "trajectory") if program.claim_field(f) is not None]
        tests = []
        for split in program.splits.values():
            if not network:
                break
            codes = in_codes(col("code"), split.codes) if split.codes is not None else "TRUE"
            tests.append(
                f"(_chosen = {quote(split.title)} AND {codes} AND "
                f"({' OR '.join(n + ' IS NOT NULL' for n in network)}))"
            )
        return "(" + (" OR ".join(tests) or "FALSE") + ")"

    # ------------------------------------------------------------ query
    def build(self, source: str, extra: tuple[str, ...] = ()) -> Phase1:
        """The phase-1 query over `source`, a SELECT giving `_row` and `r_<field>` columns;
        `extra`: more columns of the decided-claims table, SQL over the stages (the typed claim
        fields that settle's aggregates and the invariants' queries read)."""

        def raw_text(name: str) -> str:
            raw_type = self.raw_types.get(name, "VARCHAR")
            if raw_type == "VARCHAR":
                return f'"r_{name}"'
            text = f'CAST("r_{name}" AS VARCHAR)'
            if raw_type.startswith("DECIMAL") and not raw_type.endswith((",0)", ",1)", ",2)")):
                # io/claims.py decimal_text: no zeros after the second decimal (45.0000 -> 45.00)
                return f"regexp_replace({text}, '^(-?[0-9]*\\.[0-9]{{2}}[0-9]*?)0+$', '\\1')"
            return text

        program = self.program
        fields = program.claim_fields
        # most rows hold no whitespace at all: one search of the row's text (`_ws`) lets their
        # fields through as they are; the other rows strip field by field
        texts = [raw_text(f.name) for f in fields]
        trims = ", ".join(
            f'(CASE WHEN _ws THEN {py_strip(text)} ELSE {text} END) AS "t_{f.name}"'
            for f, text in zip(fields, texts, strict=True)
        )
        raw_cols = ", ".join(f'"r_{f.name}"' for f in fields)
        ws = has_py_whitespace(*texts) if texts else "FALSE"
        rp = ", _rp" if self.reader_problems else ""
        s1 = f"SELECT _row{rp}, {raw_cols}, {trims} FROM (SELECT *, {ws} AS _ws FROM src)"
        values, problems, tests, bad = [], [], [], []
        for f in fields:
            typed = field_sql(f, program, self.raw_types.get(f.name, "VARCHAR"))
            # end_date gets its default and amount its sign (a credit is decided turned) in s3
            name = f"f_{f.name}0" if f.name in ("end_date", "amount") else f"f_{f.name}"
            values.append(f'{typed.value} AS "{name}"')
            if typed.ok:
                tests.append(f'{typed.ok} AS "k_{f.name}"')
            if typed.problem:
                problems.append(typed.problem)
                bad.append(typed.bad)
        # each field's test (a regular expression) once, read by its value and its problem
        s1k = f"SELECT *{''.join(', ' + t for t in tests)} FROM s1"
        cid = '"t_claim_id"'
        # most rows have no problem: the reasons are assembled only for the rows that have one
        problems_sql = (
            f"(CASE WHEN {' OR '.join(bad)} THEN concat_ws(', ', {', '.join(problems)}) "
            "ELSE '' END)"
            if problems
            else "''"
        )
        if self.reader_problems:  # the reader's problems first, as the interpreter's typer
            problems_sql = (
                f"(CASE WHEN _rp IS NULL THEN {problems_sql} "
                f"ELSE concat_ws(', ', _rp, nullif({problems_sql}, '')) END)"
            )
        s2 = (
            "SELECT _row, "
            + ", ".join(values)
            + f", (CASE WHEN {cid} IS NULL OR {cid} = '' THEN 'row ' || CAST(_row AS VARCHAR) "
            f"ELSE {cid} END) AS _cid, (CASE WHEN {cid} = '' THEN NULL ELSE {cid} END) AS _dup, "
            + f"{problems_sql} AS _problems0 FROM s1k"
        )
        key, combos = self.combinations()
        s3 = (
            f'SELECT *, {key} AS _k, coalesce("f_end_date0", {col("start_date")}) AS '
            f"{col('end_date')}, {jdyn(col('code'))} AS _jcode, "
            f'(CASE WHEN "f_credit" THEN 0 - "f_amount0" ELSE "f_amount0" END) AS {col("amount")}, '
            f"{sign_problems('_problems0')} AS _problems FROM s2"
        )

        # ---- eligibility per title
        titles = program.titles
        ks: dict[str, list[int]] = defaultdict(list)
        for k, names in combos.items():
            for n in names:
                ks[n].append(k)
        day = col("start_date")
        elig_cols = []
        for name, spec in titles.items():
            if not ks[name]:
                continue
            self.ex.where = f" (title `{name}`)"
            chain = ""
            for condition in spec.eligibility:
                s = self.ex.compile(condition.expr)
                failure = reason(name, condition.message, condition.citation)
                if s.e:
                    chain += f" WHEN {s.e} IS NOT NULL THEN 'E' || {s.e}"
                chain += f" WHEN NOT {truthy(s)} THEN 'F' || {failure}"
            state = f"CASE WHEN NOT {period_test(day, spec.validity)} THEN 'I'{chain} ELSE 'O' END"
            guard = f"_problems = '' AND _k IN ({', '.join(map(str, ks[name]))})"
            elig_cols.append(f'(CASE WHEN {guard} THEN {state} END) AS "st_{name}"')
        s4 = "SELECT *" + "".join(", " + c for c in elig_cols) + " FROM s3"

        # ---- dispatch
        # the code JSON-escaped once (`_jcode`), not in every message of every title group
        code_dyn = ("safe", "_jcode")
        no_title = reason(
            "payment_title",
            Msg(
                "no payment title for code `",
                code_dyn,
                "` on ",
                ("safe", date_text(day)),
                ": ",
                ("safe", known_text(day)),
            ),
            None,
        )
        o_cases = [
            "WHEN _problems <> '' THEN 'P'",
            "WHEN _k NOT IN ({}) THEN 'N'".format(", ".join(map(str, combos)) or "-1"),
        ]
        r_cases = [
            "WHEN _problems <> '' THEN _problems",
            "WHEN _k NOT IN ({}) THEN {}".format(", ".join(map(str, combos)) or "-1", no_title),
        ]
        for k, names in combos.items():
            st = [f'"st_{n}"' for n in names]
            first = titles[names[0]]
            all_invalid = " AND ".join(f"{s} = 'I'" for s in st)
            any_error = " OR ".join(f"{s} LIKE 'E%'" for s in st)
            count_ok = " + ".join(f"(CASE WHEN {s} = 'O' THEN 1 ELSE 0 END)" for s in st)
            o_cases.append(
                f"WHEN _k = {k} THEN (CASE WHEN {all_invalid} THEN 'I' WHEN {any_error} THEN 'E' "
                f"WHEN {count_ok} = 0 THEN 'R' WHEN {count_ok} > 1 THEN 'C' ELSE 'T' END)"
            )
            invalid = reason(
                first.name,
                Msg(
                    "code `",
                    code_dyn,
                    "` has no payment title valid on ",
                    ("safe", date_text(day)),
                    f": `{first.name}` is valid {periods_text(first)}",
                ),
                first.citation,
            )
            error = (
                "coalesce("
                + ", ".join(f"(CASE WHEN {s} LIKE 'E%' THEN substr({s}, 2) END)" for s in st)
                + ")"
            )
            rejected = (
                "concat_ws(', ', "
                + ", ".join(f"(CASE WHEN {s} LIKE 'F%' THEN substr({s}, 2) END)" for s in st)
                + ")"
            )
            names_ok = (
                "concat_ws(' and ', "
                + ", ".join(
                    f"(CASE WHEN {s} = 'O' THEN '`{n}`' END)"
                    for s, n in zip(st, names, strict=True)
                )
                + ")"
            )
            conflict = (
                "(CASE "
                + "".join(
                    f"WHEN {s} = 'O' THEN "
                    + reason(
                        "conflict",
                        Msg(
                            "conflict: payment titles ",
                            ("safe", names_ok),
                            " both fund code `",
                            code_dyn,
                            "` for this claim",
                        ),
                        titles[n].citation,
                    )
                    + " "
                    for s, n in zip(st, names, strict=True)
                )
                + "END)"
            )
            r_cases.append(
                f"WHEN _k = {k} THEN (CASE WHEN {all_invalid} THEN {invalid} "
                f"WHEN {any_error} THEN {error} WHEN {count_ok} = 0 THEN {rejected} "
                f"WHEN {count_ok} > 1 THEN {conflict} END)"
            )
        chosen = (
            "CASE "
            + "".join(f"WHEN \"st_{n}\" = 'O' THEN {quote(n)} " for n in titles if ks[n])
            + "END"
            if any(ks.values())
            else "NULL"
        )
        s5 = (
            f"SELECT *, (CASE {' '.join(o_cases)} END) AS _o, "
            f"(CASE {' '.join(r_cases)} END) AS _r FROM s4"
        )
        s5b = f"SELECT *, (CASE WHEN _o = 'T' THEN {chosen} END) AS _chosen FROM s5"

        # ---- tariff
        amount, quantity = col("amount"), col("quantity")
        priced = [n for n in titles if ks[n]]
        tv_cases, te_cases, p0_cases, tr_cases = [], [], [], []
        for name in priced:
            spec = titles[name]
            self.ex.where = f" (tariff of `{name}`)"
            if spec.tariff_kind == "free" or spec.tariff is None:
                p0_cases.append(f"WHEN {quote(name)} THEN {amount}")
                continue
            tariff = self.ex.compile(spec.tariff)
            tv_cases.append(f"WHEN {quote(name)} THEN {tariff.v}")
            if tariff.e:
                te_cases.append(f"WHEN {quote(name)} THEN {tariff.e}")
            limit = f"(_tv * {quantity})"
            q_text = ("safe", f"CAST({quantity} AS VARCHAR)")
            if spec.tariff_kind == "maximum":
                p0_cases.append(f"WHEN {quote(name)} THEN least({amount}, {limit})")
                message = Msg(
                    "claimed EUR ",
                    ("safe", money_text(amount)),
                    " is above the maximum tariff EUR ",
                    ("safe", money_text("_tv")),
                    " x ",
                    q_text,
                    " = EUR ",
                    ("safe", money_text(limit)),
                )
                tr_cases.append(
                    f"WHEN {quote(name)} THEN (CASE WHEN least({amount}, {limit}) <> {amount} "
                    f"THEN {reason(name, message, spec.citation)} END)"
                )
            else:
                p0_cases.append(f"WHEN {quote(name)} THEN {limit}")
                message = Msg(
                    "the fixed tariff is EUR ",
                    ("safe", money_text("_tv")),
                    " x ",
                    q_text,
                    " = EUR ",
                    ("safe", money_text(limit)),
                    "; claimed EUR ",
                    ("safe", money_text(amount)),
                )
                tr_cases.append(
                    f"WHEN {quote(name)} THEN (CASE WHEN round({limit}, 2) <> {amount} "
                    f"THEN {reason(name, message, spec.citation)} END)"
                )

        def case_on(column: str, cases: list[str]) -> str:
            return f"(CASE {column} {' '.join(cases)} END)" if cases else "NULL"

        s6 = (
            f"SELECT *, {case_on('_chosen', tv_cases)} AS _tv, "
            f"{case_on('_chosen', te_cases)} AS _te FROM s5b"
        )
        s7 = (
            f"SELECT *, {case_on('_chosen', p0_cases)} AS _pay0, "
            f"{case_on('_chosen', tr_cases)} AS _treason FROM s6"
        )

        # ---- rules
        self.ex.context = {
            "tariff": S(f"coalesce(_tv, {amount})"),
            "claimed": S(amount),
            "payable": S("_pay0"),
        }
        rule_names = list(dict.fromkeys(r for n in priced for r in titles[n].rules))
        rule_index = {r: i for i, r in enumerate(rule_names)}
        rule_cols, pay_cols = [], []
        whens: dict[str, S | None] = {}
        pays: dict[str, S | None] = {}
        for r in rule_names:
            rule = program.rules[r]
            self.ex.where = f" (rule `{r}`)"
            guard = f"_o = 'T' AND _chosen IN ({', '.join(quote(t) for t in rule.titles)})"
            if rule.when is not None:
                s = self.ex.compile(rule.when)
                whens[r] = s
                rule_cols.append(f"(CASE WHEN {guard} THEN {truthy(s)} END) AS _w{rule_index[r]}")
                if s.e:
                    rule_cols.append(f"(CASE WHEN {guard} THEN {s.e} END) AS _we{rule_index[r]}")
            if rule.pay is not None:
                s = self.ex.compile(rule.pay)
                pays[r] = s
                pay_cols.append(
                    f"(CASE WHEN _rwin = {quote(r)} THEN {s.v} END) AS _p{rule_index[r]}"
                )
                if s.e:
                    pay_cols.append(
                        f"(CASE WHEN _rwin = {quote(r)} THEN {s.e} END) AS _pe{rule_index[r]}"
                    )
        s8 = "SELECT *" + "".join(", " + c for c in rule_cols) + " FROM s7"

        err_cases, conf_cases, win_cases = [], [], []
        for name in priced:
            spec = titles[name]
            if not spec.rules:
                continue
            if len(spec.rules) > MAX_RULES_PER_TITLE:
                raise UnsupportedInBatch(
                    [
                        f"{len(spec.rules)} rules on payment title `{name}` (the batch plan "
                        f"takes at most {MAX_RULES_PER_TITLE}: it checks every pair for a conflict)"
                    ]
                )
            holds = {
                r: (
                    f"coalesce(_w{rule_index[r]}, FALSE)"
                    if program.rules[r].when is not None
                    else "TRUE"
                )
                for r in spec.rules
            }
            defeated: dict[str, list[str]] = defaultdict(list)
            for r in spec.rules:
                exception_to = program.rules[r].exception_to
                if exception_to is not None:
                    defeated[exception_to].append(r)
            wins = {
                r: "(" + holds[r] + "".join(f" AND NOT {holds[e]}" for e in defeated[r]) + ")"
                for r in spec.rules
            }
            errors = [
                f"_we{rule_index[r]}"
                for r in spec.rules
                if whens.get(r) and whens[r].e  # type: ignore[union-attr]
            ]
            if errors:
                err_cases.append(f"WHEN {quote(name)} THEN {first_error(*errors)}")
            pairs = list(itertools.combinations(spec.rules, 2))
            if pairs:
                conf_cases.append(
                    f"WHEN {quote(name)} THEN (CASE "
                    + "".join(
                        f"WHEN {wins[a]} AND {wins[b]} THEN "
                        + reason(
                            "conflict",
                            f"conflict: rules `{a}` and `{b}` both apply and neither is an "
                            "exception to the other",
                            program.rules[a].citation,
                        )
                        + " "
                        for a, b in pairs
                    )
                    + "END)"
                )
            win_cases.append(
                f"WHEN {quote(name)} THEN (CASE "
                + "".join(f"WHEN {wins[r]} THEN {quote(r)} " for r in spec.rules)
                + "END)"
            )
        s9 = (
            f"SELECT *, {case_on('_chosen', err_cases)} AS _rerr, "
            f"{case_on('_chosen', conf_cases)} AS _rconf, "
            f"{case_on('_chosen', win_cases)} AS _rwin FROM s8"
        )
        s10 = "SELECT *" + "".join(", " + c for c in pay_cols) + " FROM s9"

        # ---- final
        reject_rules = [r for r in rule_names if program.rules[r].outcome == "reject"]
        accept_rules = [r for r in rule_names if program.rules[r].outcome == "accept"]
        pay_rules = [r for r in rule_names if program.rules[r].outcome == "pay"]
        rule_reason = case_on(
            "_rwin",
            [
                f"WHEN {quote(r)} THEN "
                + reason(r, program.rules[r].because, program.rules[r].citation)
                for r in rule_names
            ],
        )
        pay_error = case_on(
            "_rwin",
            [
                f"WHEN {quote(r)} THEN _pe{rule_index[r]}"
                for r in pay_rules
                if pays[r] and pays[r].e
            ],  # type: ignore[union-attr]
        )
        in_list = lambda names: ", ".join(quote(n) for n in names) or "NULL"  # noqa: E731
        f_cases = (
            "CASE WHEN _o <> 'T' THEN _o WHEN _te IS NOT NULL THEN 'E' "
            "WHEN _rerr IS NOT NULL THEN 'E' WHEN _rconf IS NOT NULL THEN 'X' "
            f"WHEN _rwin IN ({in_list(reject_rules)}) THEN 'J' "
            f"WHEN {pay_error} IS NOT NULL THEN 'E' ELSE 'T' END"
        )
        payable = (
            f"CAST(round(CASE WHEN _rwin IN ({in_list(accept_rules)}) THEN {amount} "
            + "".join(f"WHEN _rwin = {quote(r)} THEN _p{rule_index[r]} " for r in pay_rules)
            + "ELSE _pay0 END, 2) AS DECIMAL(18,2))"
        )
        s11 = (
            f"SELECT *, ({f_cases}) AS _f, "
            f"(CASE WHEN _o = 'T' THEN coalesce(_te, _rerr, _rconf, {pay_error}) END) AS _fe, "
            f"(CASE WHEN _o = 'T' THEN {payable} END) AS _pay FROM s10"
        )
        # a claim paid with nothing to say but "funded as" (most claims) keeps NULL: the text
        # is the same for every claim of the title, so line_sql() adds it when the line is
        # written instead of the table carrying (and the output sort moving) a copy per claim
        reasons = (
            f"CASE _f WHEN 'T' THEN (CASE WHEN _treason IS NULL AND {rule_reason} IS NULL "
            'AND NOT "f_credit" '
            f"THEN NULL ELSE concat_ws(', ', {funded_reason(program, '_chosen')}, _treason, "
            f"{rule_reason}, {standalone_credit_reason()}) END) WHEN 'J' THEN {rule_reason} "
            "WHEN 'E' THEN coalesce(_fe, _r) WHEN 'X' THEN _fe ELSE _r END"
        )
        funding = case_on(
            "_chosen", [f"WHEN {quote(n)} THEN {quote(titles[n].funding)}" for n in priced]
        )
        final = (
            "SELECT _row, _cid, _dup, "
            f"{col('patient')} AS patient, {col('start_date')} AS sd, {col('end_date')} AS ed, "
            "(CASE _f WHEN 'T' THEN (CASE WHEN _pay = "
            f"{amount} THEN 'accepted' ELSE 'adjusted' END) WHEN 'P' THEN 'error' "
            "WHEN 'E' THEN 'error' WHEN 'C' THEN 'error' WHEN 'X' THEN 'error' "
            "ELSE 'rejected' END) AS status, "
            "(CASE _f WHEN 'T' THEN (CASE WHEN \"f_credit\" THEN 0 - _pay ELSE _pay END) "
            "ELSE CAST(0 AS DECIMAL(18,2)) END) AS payable, "
            '"f_amount0" AS claimed, '
            # what phase 3 (credits.py) reads: a clean row, its credit, what it corrects
            "(_problems = '') AS _clean, coalesce(\"f_credit\", FALSE) AS _credit, "
            f'"f_corrects" AS _corrects, {col("provider")} AS _prov, {col("code")} AS _code, '
            "(CASE WHEN _f IN ('T', 'J', 'X') THEN _chosen END) AS title, "
            f"(CASE WHEN _f IN ('T', 'J', 'X') THEN {funding} END) AS funding, "
            f"({reasons}) AS reasons, {self.split_test()} AS _split"
            + "".join(f", {column}" for column in extra)
            + " FROM s11"
        )
        if self.ex.unsupported:
            raise UnsupportedInBatch(self.ex.unsupported)
        joins, picked = "", ""
        for lookup in self.ex.lookups.values():
            table = program.tables[lookup.table]
            joins += (
                f' LEFT JOIN (SELECT *, TRUE AS "__found" FROM {self.ex.tables[lookup.table]}) '
                f'AS {lookup.alias} ON {lookup.alias}."{table.key[0]}" = {lookup.key.v}'
            )
            for name in [f.name for f in table.fields] + ["__found"]:
                picked += f', {lookup.alias}."{name}" AS "{lookup.alias}__{name}"'
        # what the NZa lists know of the code, for "no payment title" (data/nza/known.py)
        joins += f' LEFT JOIN {KNOWN_TABLE} AS nzak ON nzak."code" = {col("code")}'
        picked += "".join(f', nzak."{c}" AS "nzak_{c}"' for c in KNOWN_COLUMNS[1:])
        s3 = s3.replace("SELECT *,", "SELECT s2.*" + picked + ",", 1)
        stages = [
            ("src", source),
            ("s1", s1),
            ("s1k", s1k),
            ("s2", s2),
            ("s3", s3 + joins),
            ("s4", s4),
            ("s5", s5),
            ("s5b", s5b),
            ("s6", s6),
            ("s7", s7),
            ("s8", s8),
            ("s9", s9),
            ("s10", s10),
            ("s11", s11),
        ]
        sql = "WITH " + ",\n".join(f"{n} AS ({q})" for n, q in stages) + "\n" + final
        return Phase1(sql, bool(self.ex.lookups))

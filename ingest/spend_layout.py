"""Which column of a ledger is the payment date, the amount and the supplier: decided from the file's first
records (their content) together with the header names, unless an analyst's override says otherwise.

Evidence per column, measured by DuckDB on the first SAMPLE_RECORDS records with the same macros that parse the
whole file (spend_macros.sql): the share of values that parse as a date and as money, the share of digits only,
of values with pennies, of values with letters, the share of distinct values, and DuckDB's own sniffed type
(sniff_csv). A name raises a column's rank; content that rules a column out always wins over its name. Where two
candidates remain, the written rules below decide (payment date over a GL, period or effective date; net over
gross; a supplier's name over its id or code). The choice, the runner-up and the evidence are kept per file in
audit.spend_column_choices.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from ingest.csv_files import HeaderMatch, header_key
from ingest.errors import IngestError

SAMPLE_RECORDS = 200
RECHECK_RECORDS = 50  # a later file of a layout already measured in this load: its supplier column only
LAYOUTS_FILE = Path(__file__).with_name("spend_layouts.yml")
ROLES = ("date", "amount", "supplier_name")

# Written rules for two candidates of one role: a lower tier wins. Names are header_key words.
_DATE_TIERS = [(0, r"\b(payment|paid|clearing|transaction|pay)\b"), (2, r"\b(gl|period|effective|posting|created|"
               r"entered|due|invoice date|document date|input)\b")]
_AMOUNT_TIERS = [(0, r"\bnet\b"), (2, r"\b(gross|total inc|including vat|incl vat|inc vat)\b")]
_SUPPLIER_TIERS = [(0, r"\bname\b"), (2, r"\b(id|number|no|code|ref|reference|site|account)\b")]
# Names that say a column is not a payment's date or a payment's amount, whatever its content.
_NOT_PAYMENT_DATE = r"\b(start|end|expiry|expires|award|awarded|review|renewal|birth|contract|extension|notice)\b"
_NOT_PAYMENT_AMOUNT = (r"\b(vat|annual value|contract value|total contract|budget|estimate|estimated|forecast|"
                       r"cumulative|quantity|qty|number|no|id|code|year|percentage|rate)\b")
_WEAK_NAMES = {"date": r"\bdate\b", "amount": r"\b(amount|value|spend|net|total|cost|paid|sum|sterling|gbp)\b",
               "supplier_name": r"\b(supplier|vendor|payee|creditor|beneficiary|merchant|recipient|company)\b"}


@dataclass
class Evidence:
    index: int
    header: str
    values: int = 0
    date_share: float = 0.0
    money_share: float = 0.0
    digits_share: float = 0.0
    pennies_share: float = 0.0
    letters_share: float = 0.0
    distinct_share: float = 0.0
    sniffed_type: str | None = None
    first_over_12: bool = False
    second_over_12: bool = False

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class Choice:
    role: str
    index: int | None
    how: str  # override | name and content | content
    runner_up: int | None = None
    why: str = ""


@dataclass
class Layout:
    """The roles chosen for one file, with what was seen."""

    choices: dict[str, Choice]
    evidence: list[Evidence]
    month_first: bool = False
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[dict]:
        """One row per role for audit.spend_column_choices."""
        out = []
        for role, choice in self.choices.items():
            chosen = self.evidence[choice.index] if choice.index is not None else None
            runner = self.evidence[choice.runner_up] if choice.runner_up is not None else None
            out.append({
                "role": role, "column_index": choice.index, "column_name": chosen.header if chosen else None,
                "how": choice.how, "runner_up": runner.header if runner else None, "why": choice.why,
                "evidence": json.dumps({"chosen": chosen.as_dict() if chosen else None,
                                        "runner_up": runner.as_dict() if runner else None,
                                        **({"month_first": self.month_first} if role == "date" else {})}),
            })
        return out


# ------------------------------------------------------------------------------------------------ overrides
@lru_cache(maxsize=4)
def _layouts(path: str) -> list[dict]:
    config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    layouts = config.get("layouts") or []
    for number, entry in enumerate(layouts, start=1):
        unknown = set(entry.get("columns", {})) - set(ROLES) - {"transaction_id", "supplier_id", "description",
                                                                "service_area", "expense_type", "expense_code"}
        if unknown or not entry.get("columns"):
            raise ValueError(f"{path}: layout {number}: columns must name roles among {ROLES} (got {entry})")
    return layouts


def layouts_file() -> Path:
    return Path(os.environ.get("WAREHOUSE_SPEND_LAYOUTS") or LAYOUTS_FILE)


def override_for(path: Path, la_codes: set[str], period_start: dt.date | None) -> dict[str, str]:
    """role -> header of the first layout entry that matches this file (LA, file name pattern, from date)."""
    for entry in _layouts(str(layouts_file())):
        las = {str(x).strip().lower() for x in ([entry["la"]] if isinstance(entry.get("la"), str)
                                                 else entry.get("la") or [])}
        if las and not las & {code.lower() for code in la_codes}:
            continue
        if entry.get("file_pattern") and not fnmatch.fnmatch(path.name.lower(), str(entry["file_pattern"]).lower()):
            continue
        since = entry.get("from")
        if since and (period_start is None or period_start < (since if isinstance(since, dt.date)
                                                               else dt.date.fromisoformat(str(since)))):
            continue
        return dict(entry["columns"])
    return {}


# ------------------------------------------------------------------------------------------------ evidence
def _sample(readable: Path, header: HeaderMatch, records: int = SAMPLE_RECORDS) -> list[list[str]]:
    """The first records below the header (a few hundred lines at most: the rows are DuckDB's)."""
    rows: list[list[str]] = []
    with open(readable, newline="", encoding="utf-8-sig", errors="replace") as handle:
        for number, record in enumerate(csv.reader(handle)):
            if number <= header.index:
                continue
            rows.append(record)
            if len(rows) >= records:
                break
    return rows


def _sniffed_types(con: duckdb.DuckDBPyConnection, readable: Path, header: HeaderMatch) -> list[str | None]:
    """DuckDB's own typing of each column from a sample (sniff_csv), or nothing where it cannot tell."""
    try:
        columns = con.execute("select Columns from sniff_csv(?, skip = ?, header = true, sample_size = ?)",
                              [str(readable), header.index, SAMPLE_RECORDS]).fetchone()[0]
    except duckdb.Error:
        return []
    return [column.get("type") if isinstance(column, dict) else None for column in columns]


def layout_key(la_codes: set[str], header: HeaderMatch) -> tuple:
    return (tuple(sorted(la_codes)), tuple(header.cells))


def measure(con: duckdb.DuckDBPyConnection, readable: Path, header: HeaderMatch) -> list[Evidence]:
    """Evidence for every header column of one file."""
    return measure_many(con, [(readable, header)])[0]


def measure_many(con: duckdb.DuckDBPyConnection, files: list[tuple[Path, HeaderMatch]]) -> list[list[Evidence]]:
    """Evidence for every header column of each file, in one DuckDB query over all their sampled values (binding
    the date macro costs more than measuring a few hundred values, so files are measured together)."""
    out = [[Evidence(i, " ".join(cell.split())) for i, cell in enumerate(header.cells)] for _, header in files]
    if not files:
        return out
    file_nos, columns, values = [], [], []
    for file_no, (readable, header) in enumerate(files):
        for record in _sample(readable, header):
            for i, value in enumerate(record[:len(header.cells)]):
                if value.strip():
                    file_nos.append(file_no)
                    columns.append(i)
                    values.append(value.strip())
    if values:
        rows = con.execute(
            """
            with cells as (select unnest(?::integer[]) as file_no, unnest(?::integer[]) as col,
                                  unnest(?::varchar[]) as v),
            split as (
                select file_no, col, v,
                    regexp_extract(v, '^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-][0-9]{2,4}', ['d1', 'd2']) as parts
                from cells
            )
            select file_no, col, count(*),
                avg(case when parse_spend_date(v) is not null then 1
                    when parse_spend_date_month_first(v) is not null then 1 else 0 end),
                avg(case when parse_money(v) is not null then 1 else 0 end),
                avg(case when regexp_full_match(v, '[0-9]+') then 1 else 0 end),
                avg(case when regexp_matches(v, '[.][0-9]{2}\\)?\\s*(CR|DR|-)?$') then 1 else 0 end),
                avg(case when regexp_matches(v, '[A-Za-z]{2}') then 1 else 0 end),
                count(distinct v) / count(*),
                coalesce(max(try_cast(nullif(parts.d1, '') as integer)) > 12, false),
                coalesce(max(try_cast(nullif(parts.d2, '') as integer)) > 12, false)
            from split group by file_no, col
            """,
            [file_nos, columns, values],
        ).fetchall()
        for file_no, col, n, dates, money, digits, pennies, letters, distinct, first12, second12 in rows:
            evidence = out[file_no]
            evidence[col] = Evidence(col, evidence[col].header, n, dates, money, digits, pennies, letters, distinct,
                                     None, first12, second12)
    for (readable, header), evidence in zip(files, out):
        for i, kind in enumerate(_sniffed_types(con, readable, header)[:len(evidence)]):
            evidence[i].sniffed_type = kind
    return out


# ------------------------------------------------------------------------------------------------ choosing
def _tier(name: str, tiers: list[tuple[int, str]]) -> int:
    return next((tier for tier, pattern in tiers if re.search(pattern, name)), 1)


def _content_allows(role: str, e: Evidence, name: str, strongly_named: bool) -> str | None:
    """None when the column's content can play the role, else why not."""
    if e.values == 0:
        return "empty in the first records"
    # A column named for the role may hold some bad values (they are quarantined row by row); one that is not
    # must read almost wholly as the role.
    needed = 0.5 if strongly_named else 0.9
    if role == "date":
        if re.search(_NOT_PAYMENT_DATE, name):
            return "its name says it is not a payment's date"
        return None if e.date_share >= needed else f"only {e.date_share:.0%} of its values are dates"
    if role == "amount":
        if re.search(_NOT_PAYMENT_AMOUNT, name) and not strongly_named:
            return "its name says it is not a payment's amount"
        if e.date_share >= 0.5:
            return "its values are dates"
        if e.money_share < needed:
            return f"only {e.money_share:.0%} of its values are amounts"
        if e.pennies_share == 0 and not strongly_named:
            return "whole numbers only, and not named as an amount: an id or a count"
        return None
    if e.date_share >= 0.5:
        return "its values are dates"
    return None if e.letters_share >= 0.1 else "its values are numbers or codes: an id, not a name"


def choose(evidence: list[Evidence], synonyms: dict[str, list[str]], override: dict[str, str],
           taken_by_other_fields: set[int]) -> dict[str, Choice]:
    keys = [header_key(e.header) for e in evidence]
    choices: dict[str, Choice] = {}
    used: set[int] = set()
    for role in ROLES:
        if role in override:
            wanted = header_key(override[role])
            index = next((i for i, key in enumerate(keys) if key == wanted and i not in used), None)
            if index is None:
                raise IngestError(Path("?"), "OVERRIDE_COLUMN_MISSING",
                                  f"the spend layout override names {role} column '{override[role]}', which the "
                                  f"header does not have (columns: {', '.join(e.header for e in evidence)})")
            choices[role] = Choice(role, index, "override", why=f"{layouts_file().name} says so")
            used.add(index)
            continue
        names = synonyms.get(role, [])
        tiers = {"date": _DATE_TIERS, "amount": _AMOUNT_TIERS, "supplier_name": _SUPPLIER_TIERS}[role]
        ranked = []
        for e, key in zip(evidence, keys):
            if e.index in used:
                continue
            name_rank = names.index(key) if key in names else None
            weak = bool(re.search(_WEAK_NAMES[role], key))
            if name_rank is None and not weak and role == "supplier_name":
                continue  # a supplier is known by its name: content alone cannot tell it from a description
            if name_rank is None and e.index in taken_by_other_fields:
                continue
            refusal = _content_allows(role, e, key, name_rank is not None)
            if refusal:
                continue
            strength = 0 if name_rank is not None else 1 if weak else 2
            if role == "amount" and strength == 2 and e.pennies_share < 0.5:
                continue  # an unnamed amount must look like money: pennies on most values
            fit = {"date": e.date_share, "amount": e.pennies_share, "supplier_name": e.letters_share}[role]
            ranked.append(((_tier(key, tiers), strength, name_rank if name_rank is not None else 999, -fit, e.index),
                           e))
        ranked.sort(key=lambda item: item[0])
        if not ranked:
            choices[role] = Choice(role, None, "none")
            continue
        best = ranked[0][1]
        runner = ranked[1][1].index if len(ranked) > 1 else None
        how = "name and content" if ranked[0][0][1] < 2 else "content"
        why = (f"tier {ranked[0][0][0]} by the written rules, "
               f"{'a synonym' if ranked[0][0][1] == 0 else 'a name hint' if ranked[0][0][1] == 1 else 'no name'}")
        choices[role] = Choice(role, best.index, how, runner, why)
        used.add(best.index)
    return choices


def month_first(evidence: Evidence | None, sample_dates_in_period: tuple[int, int] | None) -> bool:
    """dd/mm or mm/dd for a whole column: values over 12 decide, else the file's period, else day first."""
    if evidence is None:
        return False
    if evidence.first_over_12 and not evidence.second_over_12:
        return False
    if evidence.second_over_12 and not evidence.first_over_12:
        return True
    if sample_dates_in_period:
        day_first_hits, month_first_hits = sample_dates_in_period
        return month_first_hits > day_first_hits
    return False


def dates_in_period(con: duckdb.DuckDBPyConnection, readable: Path, header: HeaderMatch, column: int,
                    start: dt.date, end: dt.date) -> tuple[int, int]:
    """How many sampled dates fall inside the file's period read day first, and read month first."""
    values = [r[column].strip() for r in _sample(readable, header) if len(r) > column and r[column].strip()]
    if not values:
        return 0, 0
    return con.execute(
        "select count(*) filter (where parse_spend_date(v) between ? and ?), "
        "count(*) filter (where parse_spend_date_month_first(v) between ? and ?) from unnest(?::varchar[]) t(v)",
        [start, end, start, end, values]).fetchone()


def _supplier_still_named(readable: Path, header: HeaderMatch, column: int) -> bool:
    """A later file of a known layout: its supplier column must still hold names in its first records (a column
    blank on every line is refused, never loaded with no suppliers). Its dates and amounts are judged row by row
    when it lands, and its day/month order is the layout's."""
    values = [r[column].strip() for r in _sample(readable, header, RECHECK_RECORDS) if len(r) > column]
    return any(any(ch.isalpha() for ch in value) for value in values)


def decide(con: duckdb.DuckDBPyConnection, path: Path, readable: Path, header: HeaderMatch,
           synonyms: dict[str, list[str]], la_codes: set[str], period, taken_by_other_fields: set[int],
           known: dict | None = None, evidence: list[Evidence] | None = None) -> Layout:
    """The layout of one ledger, or IngestError when it is not a payments ledger or has no supplier column.
    `known` carries the choices made for earlier files of the same LA and header in this load: a council's
    monthly files share a layout, so a later one takes them without a new measurement, once its supplier
    column is seen to hold names."""
    override = override_for(path, la_codes, period.start if period else None)
    key = layout_key(la_codes, header)
    choices, known_month_first = None, None
    if known is not None and key in known and not override:
        known_choices, known_month_first = known[key]
        if _supplier_still_named(readable, header, known_choices["supplier_name"].index):
            choices = known_choices
            evidence = [Evidence(i, " ".join(cell.split())) for i, cell in enumerate(header.cells)]
        else:
            known_month_first = None
    if choices is None:
        evidence = evidence or measure(con, readable, header)
        try:
            choices = choose(evidence, synonyms, override, taken_by_other_fields)
        except IngestError as error:
            raise IngestError(path, error.rule, error.message) from error

    columns = ", ".join(e.header for e in evidence if e.header)
    if choices["date"].index is None or choices["amount"].index is None:
        missing = " and no per-payment amount" if choices["amount"].index is None else ""
        missing = ("no payment date" + missing) if choices["date"].index is None else "no per-payment amount"
        raise IngestError(
            path, "NOT_A_LEDGER",
            f"not a payments ledger: {missing} among its columns ({columns}). If it is one, name the columns in "
            f"ingest/{LAYOUTS_FILE.name}, e.g. '- {{la: {path.parent.name}, "
            f"file_pattern: \"{path.name}\", columns: {{date: ..., amount: ..., supplier_name: ...}}}}'")
    if choices["supplier_name"].index is None:
        raise IngestError(
            path, "NO_SUPPLIER_COLUMN",
            f"no column can be the supplier (columns: {columns}): a ledger without suppliers is refused, not loaded "
            f"with none. Name it in ingest/{LAYOUTS_FILE.name}: '- {{la: {path.parent.name}, "
            f"columns: {{supplier_name: \"<column>\"}}}}'")
    layout = Layout(choices, evidence)
    date_evidence = evidence[choices["date"].index]
    settled = date_evidence.first_over_12 != date_evidence.second_over_12
    if known_month_first is not None:
        layout.month_first = known_month_first  # the layout's order, decided on its first file
    else:
        in_period = None
        if period and not settled:
            in_period = dates_in_period(con, readable, header, choices["date"].index, period.start, period.end)
        layout.month_first = month_first(date_evidence, in_period)
    if known is not None and not override:
        known[key] = (choices, layout.month_first)
    supplier = evidence[choices["supplier_name"].index]
    if supplier.digits_share > 0.5:
        layout.notes.append(f"SUPPLIER_MOSTLY_DIGITS: {supplier.digits_share:.0%} of '{supplier.header}' values are "
                            "digits only (ids, not names): name the supplier column in " + LAYOUTS_FILE.name)
    return layout

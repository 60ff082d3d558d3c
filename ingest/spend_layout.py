"""Which column of a ledger is the payment date, the amount and the supplier: decided from the file's first
records (their content) together with the header names, unless an analyst's override says otherwise. Also where
the header is when too few of its names are known (header_by_content).

Evidence per column, measured by DuckDB on the first SAMPLE_RECORDS records with the same macros that parse the
whole file (spend_macros.sql): the share of values that parse as a date and as money, the share of digits only,
of values with pennies, of values with letters, of values of two or more words, the share of distinct values, and
DuckDB's own sniffed type (sniff_csv). A name raises a column's rank; content that rules a column out always wins
over its name, and a name that says a column is not a payment's (a start date, a contract value, the VAT itself)
rules it out. Where two candidates remain, the written rules below decide (payment date over a GL, period or
posting date, over the date a record was made or changed; net or without VAT over gross or with VAT; a
supplier's name over its id or code). A column another field has taken by name is no candidate, except a
supplier id column whose values are names. The choice, the runner-up and the evidence are kept per file in
audit.spend_column_choices, with the rule that decided (why).
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

from ingest.csv_files import MAX_PREAMBLE_RECORDS, HeaderMatch, header_key
from ingest.errors import IngestError

SAMPLE_RECORDS = 200
RECHECK_RECORDS = 50  # a later file of a layout already measured in this load: its supplier column only
LAYOUTS_FILE = Path(__file__).with_name("spend_layouts.yml")
ROLES = ("date", "amount", "supplier_name")

# An amount said to be without VAT ("net of VAT", "excludes VAT", "ex VAT", "VAT exclusive"), or with it.
_NET_OF_VAT = (r"\b(net of|ex|exc|excl|excluding|excludes|exclusive of|before|less|without|pre|minus)\s+vat\b"
               r"|\bvat\s+(exclusive|excluded|excl)\b")
_GROSS_OF_VAT = (r"\b(inc|incl|including|includes|inclusive of|inclusive|with|plus|gross of)\s+vat\b"
                 r"|\bvat\s+(inclusive|included|incl)\b")
# Written rules for two candidates of one role: a lower tier wins (tier 1: a name neither rule speaks of). Names
# are header_key words.
_DATE_TIERS = [(0, r"\b(payment|paid|clearing|transaction|pay)\b", "a payment date"),
               (2, r"\b(gl|period|effective|posting|posted|due|invoice date|document date|input)\b",
                "a GL, period, posting or invoice date"),
               (3, r"\b(created|creation|entered|entry|raised)\b", "the date a record was made"),
               (4, r"\b(updated|modified|amended|changed)\b", "the date a record was last changed")]
_AMOUNT_TIERS = [(0, r"\bnett?\b|" + _NET_OF_VAT, "net, or without VAT"),
                 (2, r"\b(gross|total inc)\b|" + _GROSS_OF_VAT, "gross, or with VAT")]
_SUPPLIER_TIERS = [(0, r"\bname\b", "a supplier's name"),
                   (2, r"\b(id|number|no|code|ref|reference|site|account)\b", "a supplier's id, number or code")]
_TIER_1 = {"date": "a date of no stated kind", "amount": "an amount neither net nor gross",
           "supplier_name": "a supplier neither by name nor by id"}
# Names that say a column is not a payment's date or a payment's amount, whatever its content. A VAT column itself
# ("VAT", "VAT Amount", "Irrecoverable VAT") is not the amount; an amount without VAT or with it may be.
_NOT_PAYMENT_DATE = r"\b(start|end|expiry|expires|award|awarded|review|renewal|birth|contract|extension|notice)\b"
_NOT_PAYMENT_AMOUNT = (r"\b(annual value|contract value|total contract|budget|estimate|estimated|forecast|"
                       r"cumulative|quantity|qty|number|no|id|code|year|percentage|rate)\b")
_WEAK_NAMES = {"date": r"\b(date|created|creation|updated|posted|posting|entered|modified)\b",
               "amount": r"\b(amount|value|spend|net|nett|total|cost|paid|sum|sterling|gbp)\b",
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
    words_share: float = 0.0  # two or more words of letters ('Acme Care Ltd'), as names are and codes are not
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
    """The first records below the header (a few hundred lines at most: the rows are DuckDB's). The sample stops
    at a record the csv module cannot take (a field over its 131,072-character limit): DuckDB's reader lands or
    quarantines that row with its record number."""
    rows: list[list[str]] = []
    with open(readable, newline="", encoding="utf-8-sig", errors="replace") as handle:
        try:
            for number, record in enumerate(csv.reader(handle)):
                if number <= header.index:
                    continue
                rows.append(record)
                if len(rows) >= records:
                    break
        except csv.Error:
            pass
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
                avg(case when regexp_matches(v, '[A-Za-z]{2,}\\s+[^0-9]*[A-Za-z]') then 1 else 0 end),
                coalesce(max(try_cast(nullif(parts.d1, '') as integer)) > 12, false),
                coalesce(max(try_cast(nullif(parts.d2, '') as integer)) > 12, false)
            from split group by file_no, col
            """,
            [file_nos, columns, values],
        ).fetchall()
        for file_no, col, n, dates, money, digits, pennies, letters, distinct, words, first12, second12 in rows:
            evidence = out[file_no]
            evidence[col] = Evidence(col, evidence[col].header, n, dates, money, digits, pennies, letters, distinct,
                                     words, None, first12, second12)
    for (readable, header), evidence in zip(files, out):
        for i, kind in enumerate(_sniffed_types(con, readable, header)[:len(evidence)]):
            evidence[i].sniffed_type = kind
    return out


# ------------------------------------------------------------------------------------------------ header
HEADER_SCAN_RECORDS = 40  # records measured under each candidate header when no header has enough known names
_MOST = 0.5


def header_by_content(con: duckdb.DuckDBPyConnection, records: list[list[str]], max_index: int = MAX_PREAMBLE_RECORDS
                      ) -> tuple[HeaderMatch, str] | None:
    """The header of a ledger whose column names are not known well enough to find it by name: the first record
    (of the first max_index + 1) under which most of the next records have a column of dates, another of money
    and another of names (letters), that has a word (not a date, not money) over each of those three columns, and
    right under which comes a record with a date and money in them (so a title line or a band of section labels
    above the header is passed over, and a file with no header at all gets none). The values are judged by the
    macros that parse the whole file, in one DuckDB query over the first records. Returns the header and what
    was seen, or None."""
    cells = [(r, c, v.strip()) for r, record in enumerate(records[:max_index + 1 + HEADER_SCAN_RECORDS])
             for c, v in enumerate(record) if v.strip()]
    if not cells:
        return None
    kinds = {}
    for r, c, is_date, is_money, has_letters in con.execute(
        """
        select r, c, d, not d and parse_money(v) is not null, not d and regexp_matches(v, '[A-Za-z]{2}')
        from (select r, c, v, parse_spend_date(v) is not null or parse_spend_date_month_first(v) is not null as d
              from (select unnest(?::integer[]) as r, unnest(?::integer[]) as c, unnest(?::varchar[]) as v))
        """,
        [[r for r, _, _ in cells], [c for _, c, _ in cells], [v for _, _, v in cells]],
    ).fetchall():
        kinds[(r, c)] = (is_date, is_money, has_letters)

    def kind(r: int, c: int, which: int) -> bool:
        return bool(kinds.get((r, c), (False, False, False))[which])

    for h in range(min(max_index + 1, len(records) - 1)):
        below = [r for r in range(h + 1, min(len(records), h + 1 + HEADER_SCAN_RECORDS))
                 if any(cell.strip() for cell in records[r])]
        width = len(records[h])
        if not below or sum(1 for cell in records[h] if cell.strip()) < 3:
            continue
        shares = [[sum(kind(r, c, which) for r in below) / len(below) for c in range(width)] for which in range(3)]
        picked: list[int] = []
        for which in range(3):  # dates, money, names: the column where most records hold it, one column each
            best = max((c for c in range(width) if c not in picked), key=lambda c: shares[which][c], default=None)
            if best is None or shares[which][best] <= _MOST:
                break
            picked.append(best)
        if len(picked) < 3:
            continue
        date_col, money_col, name_col = picked
        words = all(records[h][c].strip() and not kind(h, c, 0) and not kind(h, c, 1) for c in picked)
        first_is_data = kind(below[0], date_col, 0) and kind(below[0], money_col, 1)
        if words and first_is_data:
            seen = (f"header found by content at record {h + 1}: under it, dates in '{records[h][date_col].strip()}' "
                    f"({shares[0][date_col]:.0%}), money in '{records[h][money_col].strip()}' "
                    f"({shares[1][money_col]:.0%}), names in '{records[h][name_col].strip()}' "
                    f"({shares[2][name_col]:.0%}) of the {len(below)} records measured")
            return HeaderMatch(index=h, cells=records[h], preamble=records[:h]), seen
    return None


# ------------------------------------------------------------------------------------------------ choosing
def _tier(name: str, tiers: list[tuple[int, str, str]], role: str) -> tuple[int, str]:
    return next(((tier, label) for tier, pattern, label in tiers if re.search(pattern, name)), (1, _TIER_1[role]))


def _is_vat_itself(name: str) -> bool:
    """'VAT', 'VAT Amount', 'Irrecoverable VAT': the tax, not the payment (an amount net or gross of VAT is not)."""
    return bool(re.search(r"\bvat\b", name)) and not re.search(_NET_OF_VAT + "|" + _GROSS_OF_VAT, name)


def _holds_names(e: Evidence) -> bool:
    """Values that are names of many suppliers: letters in nearly all, two or more words in most, and many
    distinct values (an id or code column has digits or one word; a flag or a payment method few values)."""
    return (e.letters_share >= 0.9 and e.words_share >= 0.5 and e.date_share < 0.5
            and e.distinct_share * e.values >= min(10, e.values / 2))


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
        if (re.search(_NOT_PAYMENT_AMOUNT, name) or _is_vat_itself(name)) and not strongly_named:
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
            tier, label = _tier(key, tiers, role)
            if name_rank is None and not weak and role == "supplier_name":
                continue  # a supplier is known by its name: content alone cannot tell it from a description
            # A column another field's synonym took is not the role's, except a supplier's "id" or "code" column
            # whose values are names ('Supplier ID(T)' of a finance system that keeps the id elsewhere): it ranks
            # with ids (tier 2), under any column named for the supplier's name.
            id_named_names = (role == "supplier_name" and name_rank is None and tier == 2
                              and e.index in taken_by_other_fields and _holds_names(e))
            if name_rank is None and e.index in taken_by_other_fields and not id_named_names:
                continue
            refusal = _content_allows(role, e, key, name_rank is not None)
            if refusal:
                continue
            strength = 0 if name_rank is not None else 1 if weak else 2
            if role == "amount" and strength == 2 and e.pennies_share < 0.5:
                continue  # an unnamed amount must look like money: pennies on most values
            fit = {"date": e.date_share, "amount": e.pennies_share, "supplier_name": e.letters_share}[role]
            note = (f"; named like an id, but its values are names ({e.letters_share:.0%} with letters, "
                    f"{e.words_share:.0%} of two or more words, {round(e.distinct_share * e.values)} distinct of "
                    f"{e.values})" if id_named_names else "")
            ranked.append(((tier, strength, name_rank if name_rank is not None else 999, -fit, e.index),
                           e, label, note))
        ranked.sort(key=lambda item: item[0])
        if not ranked:
            choices[role] = Choice(role, None, "none")
            continue
        (tier, strength, *_), best, label, note = ranked[0]
        runner = ranked[1][1].index if len(ranked) > 1 else None
        how = "name and content" if strength < 2 else "content"
        why = (f"tier {tier} by the written rules ({label}), "
               f"{'a synonym' if strength == 0 else 'a name hint' if strength == 1 else 'no name'}{note}")
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

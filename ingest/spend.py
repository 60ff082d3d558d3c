"""Spend over £500 (`inbox/spend/<LA>/*.csv`) -> raw.spend_lines, one row per published ledger line.

Councils publish the Transparency Code fields under their own names and shapes. Columns are recognised by the
synonyms in spend_columns.yml (analysts extend it without code), never by file name or position, and the
payment date, amount and supplier by their content as well (spend_layout.py); every classification column a
council publishes (ProClass, Thomson, SeRCOP / BVACOP, merchant category) lands joined in `classification`. The
header row is found below any title lines, by its names or, failing that, by the dates, money and names under it.
Python only looks at each file's first records (header, encoding, period from the name) and its tail (cut off?);
DuckDB does the row work. Files of one shape (same columns, same header line) are landed together by ONE
read_csv([...files...], filename = true) call and judged by one SQL statement, so the fixed SQL cost is paid per
batch, not per file; each file still gets its own load_log row and reconciles (rows_read = rows_loaded +
rows_quarantined). A batch is one transaction; if it fails, its files are retried one by one so that one bad
file never takes others with it.

Rules (audit.quarantine.rule): BLANK_ROW, EXTRA_FIELDS, MISSING_FIELDS, UNPARSABLE_ROW, TRUNCATED_ROW,
AMOUNT_MISSING, AMOUNT_NOT_NUMBER, DATE_MISSING, DATE_INVALID. Warning kept on the row (warning_rules):
DATE_OUTSIDE_PERIOD (dated outside the month / quarter / year the file name states, or outside the months the
file's other rows cover). Whole-file failures (audit.load_log.error): FILE_EMPTY, FILE_NOT_CSV, HEADER_NOT_FOUND,
MISSING_COLUMN, UNKNOWN_LA, WRONG_FOLDER, UNKNOWN_KIND, UNREADABLE, and the inbox walker's (ingest/inbox.py):
FILE_OUTSIDE_INBOX, FILE_CHANGING, FILE_VANISHED, LINK_LOOP.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from ingest import audit, inbox
from ingest.csv_files import (
    MAX_PREAMBLE_RECORDS,
    OVERFLOW_COLUMNS,
    HeaderMatch,
    as_utf8,
    detect_encoding,
    ends_mid_record,
    find_header,
    head_records,
    header_key,
    line_ending,
    normalise_header,
    sha256_of,
)
from ingest.errors import IngestError
from ingest.local_authorities import LocalAuthority, resolve_la
from ingest.spend_layout import (
    HEADER_SCAN_RECORDS,
    ROLES,
    Layout,
    decide,
    header_by_content,
    layout_key,
    measure_many,
)
from ingest.spend_sql import install_macros

SOURCE = "spend"
KIND = "spend_over_500"
# A batch is read by one read_csv call; bounded in bytes so that its temporary tables stay well inside memory.
BATCH_BYTES = 160 * 1024 * 1024
# DuckDB's memory while spend loads (restored afterwards): the batch tables spill to disk beyond it. Never above the
# warehouse's own limit (WAREHOUSE_MEMORY_LIMIT, set on the connection).
MEMORY_LIMIT = "2GB"
_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _bytes(setting: str) -> float:
    """DuckDB's '13.4 GiB' or '2GB' as bytes (inf when unreadable)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]+)\s*", setting or "")
    if not match or match.group(2).lower() not in _UNITS:
        return float("inf")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]
FLAGGED_ROWS_LISTED = 10

FIELDS = ("body", "date", "transaction_id", "amount", "supplier_name", "supplier_id", "company_number",
          "charity_number", "service_area", "expense_type", "expense_code", "description", "classification")

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.spend_lines (
    la_gss_code varchar not null,
    body_name varchar,
    payment_date date not null,
    transaction_id varchar,
    amount decimal(18, 2) not null,
    supplier_name varchar,
    supplier_id varchar,
    company_number varchar,
    charity_number varchar,
    service_area varchar,
    expense_type varchar,
    expense_code varchar,
    description varchar,
    classification varchar,
    date_text varchar,
    amount_text varchar,
    period_start date not null,
    period_end date not null,
    period_from varchar not null,
    warning_rules varchar,
    source_file varchar not null,
    file_sha256 varchar not null,
    source_row_number bigint not null,
    load_id varchar not null
);
"""

# raw.spend_lines' columns in the order the landing insert gives them (named, so that a table made before a column
# was added, which has it last, takes the same insert).
RAW_COLUMNS = tuple(re.findall(r"^    (\w+) \w+", RAW_DDL, flags=re.MULTILINE))

QUARANTINE_MESSAGES = {
    "BLANK_ROW": "every field is empty",
    "EXTRA_FIELDS": "the row has more fields than the header: its values may be shifted",
    "MISSING_FIELDS": "the row has fewer fields than the header: its values may be shifted",
    "TRUNCATED_ROW": "the file ends inside this row: it was cut off",
    "AMOUNT_MISSING": "the amount is blank",
    "AMOUNT_NOT_NUMBER": "the amount is not a number",
    "DATE_MISSING": "the payment date is blank",
    "DATE_INVALID": "the payment date is not a date",
}
REJECT_RULES = {"TOO MANY COLUMNS": "EXTRA_FIELDS", "MISSING COLUMNS": "MISSING_FIELDS"}


# ------------------------------------------------------------------------------------------------ columns
@dataclass(frozen=True)
class ColumnSpec:
    synonyms: dict[str, list[str]]  # field -> normalised header names, in order of preference
    combine: frozenset[str]
    required: tuple[str, ...]
    header_min_fields: int
    name_contains: dict[str, list[str]] = field(default_factory=dict)  # field -> words a header may hold

    def field_of(self, normalised: str) -> str | None:
        for name, names in self.synonyms.items():
            if normalised in names:
                return name
        return None


@lru_cache(maxsize=1)
def column_spec() -> ColumnSpec:
    config = yaml.safe_load(Path(__file__).with_name("spend_columns.yml").read_text(encoding="utf-8"))
    synonyms = {name: [normalise_header(s) for s in spec["synonyms"]] for name, spec in config["fields"].items()}
    unknown = set(synonyms) - set(FIELDS)
    if unknown:
        raise ValueError(f"spend_columns.yml: unknown field(s) {sorted(unknown)}; fields are {FIELDS}")
    combine = frozenset(name for name, spec in config["fields"].items() if spec.get("combine"))
    contains = {name: [normalise_header(s) for s in spec["name_contains"]]
                for name, spec in config["fields"].items() if spec.get("name_contains")}
    return ColumnSpec(synonyms, combine, tuple(config["required"]), int(config["header_min_fields"]), contains)


def _looks_like_header(normalised_cells: list[str]) -> bool:
    spec = column_spec()
    found = {spec.field_of(cell) for cell in normalised_cells if cell}
    found.discard(None)
    return len(found) >= spec.header_min_fields


def map_columns(cells: list[str], chosen: dict[str, int] | None = None
                ) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    """field -> column indexes (one, or several for a combined field), and the header cells left unused. `chosen`
    holds the columns already decided for some fields (the layout's date, amount and supplier)."""
    spec = column_spec()
    normalised = [header_key(cell) for cell in cells]
    mapping: dict[str, tuple[int, ...]] = {name: (index,) for name, index in (chosen or {}).items()}
    used: set[int] = set((chosen or {}).values())
    for name, names in spec.synonyms.items():
        if name in mapping:
            continue
        positions = [[i for i, cell in enumerate(normalised) if cell == synonym and i not in used] for synonym in names]
        positions = [p for p in positions if p]
        if not positions:
            continue
        chosen = tuple(i for p in positions for i in p[:1]) if name in spec.combine else (positions[0][0],)
        mapping[name] = chosen
        used.update(chosen)
    # Words a field's header may hold ("pro class" in "ProClass Level 2 Description"): only columns no field
    # has taken by an exact name, after that field's listed synonyms, in the header's order.
    for name, words in spec.name_contains.items():
        if name in mapping and name not in spec.combine:
            continue
        pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b")
        extra = tuple(i for i, cell in enumerate(normalised) if i not in used and cell and pattern.search(cell))
        if extra:
            mapping[name] = mapping.get(name, ()) + (extra if name in spec.combine else extra[:1])
            used.update(mapping[name])
    unused = [cell for i, cell in enumerate(cells) if i not in used and normalised[i]]
    return mapping, unused


# ------------------------------------------------------------------------------------------------ periods
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    source: str  # 'file name' or 'rows'

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"


def _month(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _months(year: int, first: int, count: int) -> tuple[dt.date, dt.date]:
    """First and last day of `count` months from month `first` of `year` (a month past 12 rolls the year)."""
    year, first = year + (first - 1) // 12, (first - 1) % 12 + 1
    start = dt.date(year, first, 1)
    last_month = first + count - 1
    end_year, end_month = year + (last_month - 1) // 12, (last_month - 1) % 12 + 1
    return start, _month(end_year, end_month)[1]


def period_from_name(name: str) -> Period | None:
    """The month, financial quarter or financial year a file name states, if it states one.

    'spend_2023-09', '202309', 'Jul2023', 'June 2023', 'Aug-23' -> that month; 'Q1 2023-24' -> April-June 2023
    (quarters of the financial year); '2023-24' or '2023/24' alone -> April 2023 - March 2024.
    """
    text = Path(name).stem.lower().replace("_", " ")
    fy = re.search(r"(?<!\d)(20\d\d)\s*[-/]\s*(\d\d)(?!\d)", text)
    fy_ok = fy is not None and int(fy.group(2)) == (int(fy.group(1)) + 1) % 100
    quarter = re.search(r"\bq([1-4])\b", text)
    if fy_ok and quarter:
        start, end = _months(int(fy.group(1)), 4 + 3 * (int(quarter.group(1)) - 1), 3)
        return Period(start, end, "file name")
    m = re.search(rf"(?<![a-z])({_MONTH_WORD})[a-z]*\s*[-.]?\s*((?:19|20)\d\d|\d\d)(?!\d)", text)
    if m:
        year = int(m.group(2))
        year = year + 2000 if year < 100 else year
        return Period(*_month(year, _MONTHS[m.group(1)]), "file name")
    m = re.search(r"(?<!\d)(20\d\d)\s*[-.]?\s*(0[1-9]|1[0-2])(?![\d])", text)
    if m and not (fy_ok and "fy" in text):
        return Period(*_month(int(m.group(1)), int(m.group(2))), "file name")
    if fy_ok:
        start, end = _months(int(fy.group(1)), 4, 12)
        return Period(start, end, "file name")
    return None


# ------------------------------------------------------------------------------------------------ files
@dataclass
class Prepared:
    """One file ready to land: where it is, its header and columns, LA and period."""

    path: Path
    outcome: audit.FileLoad
    readable: Path
    header: HeaderMatch
    n_columns: int
    mapping: dict[str, tuple[int, ...]]
    la: LocalAuthority
    period: Period | None
    truncated: bool
    size: int
    layout: Layout | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def month_first(self) -> bool:
        return bool(self.layout and self.layout.month_first)

    @property
    def shape(self) -> tuple:
        return (self.n_columns, self.header.index + 1, tuple(sorted(self.mapping.items())), self.header_has_line_break,
                self.month_first)

    @property
    def header_has_line_break(self) -> bool:
        return any("\n" in cell or "\r" in cell for cell in self.header.cells)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    audit.ensure_audit_schema(con)
    con.execute(CHOICES_DDL)
    con.execute(RAW_DDL)
    # A warehouse made before a column was added gets it (at the end: inserts name their columns).
    con.execute("alter table raw.spend_lines add column if not exists classification varchar")


def la_of(path: Path, inbox_folder: Path) -> LocalAuthority:
    parts = path.relative_to(inbox_folder).parts
    if len(parts) < 2:
        raise IngestError(path, "WRONG_FOLDER", "spend files go in spend/<LA>/ (the LA's name, GSS or DfE code)")
    la = resolve_la(parts[0])
    if la is None:
        raise IngestError(path, "UNKNOWN_LA",
                          f"folder '{parts[0]}' names no English local authority (use its name, GSS or DfE code)")
    return la


def _data_width(records: list[list[str]], header: HeaderMatch) -> int:
    """Columns to read: the header's, or one more when the data rows all carry one extra, empty, last field
    (an export that ends every row with a comma)."""
    n = len(header.cells)
    rows = [r for r in records[header.index + 1:] if r]
    widths = Counter(len(r) for r in rows)
    if rows and widths.most_common(1)[0][0] == n + 1 and all(len(r) != n + 1 or not r[-1].strip() for r in rows):
        return n + 1
    return n


@dataclass
class Inspected:
    """A file's LA, readable copy, header and period: what is known before its columns are chosen."""

    path: Path
    outcome: audit.FileLoad
    la: LocalAuthority
    readable: Path
    records: list[list[str]]
    header: HeaderMatch
    period: Period | None
    notes: list[str] = field(default_factory=list)

    @property
    def la_codes(self) -> set[str]:
        return {self.la.gss_code, self.la.name, self.path.parent.name, *([self.la.dfe_code] if self.la.dfe_code else [])}

    @property
    def layout_key(self) -> tuple:
        return layout_key(self.la_codes, self.header)


def inspect(path: Path, inbox_folder: Path, outcome: audit.FileLoad, workdir: Path,
            con: duckdb.DuckDBPyConnection | None = None) -> Inspected:
    """The first half of prepare: raises IngestError for a file refused before its columns are looked at.

    The header is the first record of the first lines with enough names spend_columns.yml knows; failing that
    (and given a connection with the spend macros), the record under which the next few dozen records hold a
    column of dates, one of money and one of names (spend_layout.header_by_content)."""
    if path.suffix.lower() not in (".csv", ".txt"):
        raise IngestError(path, "UNKNOWN_KIND", f"not a .csv file ({path.suffix or 'no extension'}): export it as CSV")
    la = la_of(path, inbox_folder)
    outcome.la = la.gss_code
    outcome.encoding = detect_encoding(path)
    readable = as_utf8(path, outcome.encoding, workdir)
    records = head_records(readable)
    notes = []
    try:
        header = find_header(path, records, _looks_like_header)
    except IngestError as error:
        if error.rule != "HEADER_NOT_FOUND":
            raise
        found = None
        if con is not None:
            records = head_records(readable, MAX_PREAMBLE_RECORDS + 1 + HEADER_SCAN_RECORDS)
            found = header_by_content(con, records)
        if found is None:
            raise IngestError(path, "HEADER_NOT_FOUND",
                              "no row of spend column names (date, amount, supplier, ... as listed in "
                              "ingest/spend_columns.yml) in its first records, nor one over columns of dates, money "
                              f"and names ({error.message.split('(', 1)[-1]}") from error
        header, seen = found
        notes.append(seen)
    return Inspected(path, outcome, la, readable, records, header, period_from_name(path.name), notes)


def prepare(con: duckdb.DuckDBPyConnection, path: Path, inbox_folder: Path, outcome: audit.FileLoad,
            workdir: Path, known_layouts: dict | None = None) -> Prepared:
    """Everything Python decides about a file before DuckDB reads it. Raises IngestError for a refused file."""
    return finish(con, inspect(path, inbox_folder, outcome, workdir, con), known_layouts)


def finish(con: duckdb.DuckDBPyConnection, seen: Inspected, known_layouts: dict | None = None,
           evidence: list | None = None) -> Prepared:
    """The second half of prepare: the layout (from `evidence` when measured already) and what lands."""
    path, outcome, la, readable, records, header, period = (seen.path, seen.outcome, seen.la, seen.readable,
                                                            seen.records, seen.header, seen.period)
    by_name, _ = map_columns(header.cells)
    layout = decide(con, path, readable, header, column_spec().synonyms, seen.la_codes, period,
                    taken_by_other_fields={i for name, cols in by_name.items() if name not in ROLES for i in cols},
                    known=known_layouts, evidence=evidence)
    mapping, unused = map_columns(header.cells, {role: choice.index for role, choice in layout.choices.items()})
    outcome.kind = KIND
    outcome.header_record = header.index + 1
    n_columns = _data_width(records, header)
    outcome.reference_date = period.end if period else None
    prepared = Prepared(path, outcome, readable, header, n_columns, mapping, la, period,
                        ends_mid_record(readable, n_columns), readable.stat().st_size, layout=layout)
    prepared.notes.extend(seen.notes)
    prepared.notes.extend(layout.notes)
    for role, choice in layout.choices.items():
        if choice.how != "name and content" or choice.runner_up is not None:
            runner = f" over '{layout.evidence[choice.runner_up].header}'" if choice.runner_up is not None else ""
            prepared.notes.append(f"{role}: '{layout.evidence[choice.index].header}' by {choice.how}{runner}")
    if layout.month_first:
        prepared.notes.append("dates read month first (mm/dd)")
    if unused:
        prepared.notes.append("columns not used: " + ", ".join(c.strip() for c in unused))
    for name in ("supplier_name", "transaction_id"):
        if name not in mapping:
            prepared.notes.append(f"no {name.replace('_', ' ')} column")
    return prepared


# ------------------------------------------------------------------------------------------------ landing
def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _field_sql(mapping: dict[str, tuple[int, ...]]) -> str:
    parts = []
    for name in FIELDS:
        columns = mapping.get(name)
        if not columns:
            parts.append(f"cast(null as varchar) as {name}_text")
        elif len(columns) == 1:
            parts.append(f"nullif(trim(l.c{columns[0]}), '') as {name}_text")
        else:
            inner = ", ".join(f"nullif(trim(l.c{i}), '')" for i in columns)
            parts.append(f"nullif(concat_ws(' | ', {inner}), '') as {name}_text")
    return ",\n            ".join(parts)


def _land_batch(con: duckdb.DuckDBPyConnection, batch: list[Prepared], parallel: bool = True) -> None:
    """Land, judge and log a batch of files of one shape: one transaction, one read_csv call.

    Spare columns beyond the header catch rows with too many fields; an empty field reads as '' and only a
    missing one as null (nullstr is a character no CSV holds), so a row with one trailing empty field too many
    is caught too, and a row with too few fields is told apart from one with empty last fields.
    """
    first = batch[0]
    n, skip = first.n_columns, first.header.index + 1
    width = n + OVERFLOW_COLUMNS
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    blank = "trim(concat(" + ", ".join(f"l.c{i}" for i in range(width)) + ")) = ''"
    extra = " or ".join(f"l.c{i} is not null" for i in range(n, width))
    short = f"l.c{n - 1} is null"
    amount_col, date_col = (f"nullif(trim(l.c{first.mapping[name][0]}), '')" for name in ("amount", "date"))
    # A quoted line break in the header misleads DuckDB's line-ending guess (it then reads no rows, silently):
    # such files are given their line ending, and DuckDB reads nothing in strict mode with it, so not strict.
    if first.header_has_line_break:
        separator = f"new_line = '{line_ending(first.readable)}', strict_mode = false,"
    else:
        separator = "strict_mode = true,"
    con.execute("begin transaction")
    try:
        con.execute("drop table if exists spend_rejects; drop table if exists spend_scans")
        con.execute("""create or replace temp table spend_batch (file_no integer, readable varchar, source_file varchar,
                       sha256 varchar, la_gss_code varchar, period_start date, period_end date, period_from varchar,
                       truncated boolean)""")
        con.executemany(
            "insert into spend_batch values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[i, str(p.readable), str(p.path), p.outcome.sha256, p.la.gss_code,
              p.period.start if p.period else None, p.period.end if p.period else None,
              p.period.source if p.period else None, p.truncated] for i, p in enumerate(batch)],
        )
        con.execute(
            f"""
            create or replace temp table spend_landed as
            select * from read_csv(
                ?, header = false, skip = {skip}, columns = {columns}, filename = true, {separator}
                delim = ',', quote = '"', escape = '"', auto_detect = false,
                null_padding = true, nullstr = '\x01', parallel = {str(parallel).lower()}, ignore_errors = true,
                store_rejects = true, rejects_table = 'spend_rejects', rejects_scan = 'spend_scans'
            )
            """,
            [[str(p.readable) for p in batch]],
        )
        # Unparsable lines (wrong number of fields, stray quotes): one row per line of a file.
        con.execute(
            """
            create or replace temp table spend_rejected as
            select b.file_no, r.line as src_record, any_value(r.error_type) as error_type,
                   any_value(r.csv_line) as csv_line, string_agg(distinct r.error_message, '; ') as error_message
            from spend_rejects as r
            inner join spend_scans as s on r.scan_id = s.scan_id and r.file_id = s.file_id
            inner join spend_batch as b on s.file_path = b.readable
            group by all
            """
        )
        # Record numbers in the file (title and header records counted): rows keep file order in the landed table
        # (rowid), so a row's number is its place among its file's rows after the skipped lines, unless lines of
        # the file were rejected: then loaded rows take, in order, the numbers the rejected lines did not.
        con.execute(
            f"""
            create or replace temp table spend_judged as
            with files as (
                select b.file_no, b.readable, b.truncated, f.first_rowid, f.last_rowid
                from spend_batch as b
                inner join (
                    select filename, min(rowid) as first_rowid, max(rowid) as last_rowid
                    from spend_landed group by filename
                ) as f on b.readable = f.filename
            ),
            cells as (
                select f.file_no, l.rowid - f.first_rowid + 1 as ordinal,
                    f.truncated and l.rowid = f.last_rowid as is_cut_off,
                    {extra} as has_extra, {short} as is_short,
                    case when {amount_col} is null and {date_col} is null then {blank} end as is_blank,
                    {_field_sql(first.mapping)}
                from spend_landed as l inner join files as f on l.filename = f.readable
            ),
            gap_files as (
                select r.file_no, max(f.last_rowid - f.first_rowid + 1) + count(*) as n
                from spend_rejected as r inner join files as f on r.file_no = f.file_no
                group by r.file_no
            ),
            free_numbers as (
                select file_no, row_number() over (partition by file_no order by src_record) as ordinal, src_record
                from (select file_no, unnest(range({skip} + 1, {skip} + 1 + n)) as src_record from gap_files) as c
                where not exists (select 1 from spend_rejected as r
                                  where r.file_no = c.file_no and r.src_record = c.src_record)
            ),
            parsed as (
                select coalesce(g.src_record, {skip} + cells.ordinal) as src_record, cells.* exclude (ordinal),
                    parse_money(cells.amount_text) as amount,
                    {"parse_spend_date_month_first" if first.month_first else "parse_spend_date"}(cells.date_text)
                        as payment_date
                from cells
                left join free_numbers as g on cells.file_no = g.file_no and cells.ordinal = g.ordinal
            )
            select parsed.*,
                case
                    when is_cut_off then 'TRUNCATED_ROW'
                    when has_extra then 'EXTRA_FIELDS'
                    when is_short then 'MISSING_FIELDS'
                    when is_blank then 'BLANK_ROW'
                    when amount_text is null then 'AMOUNT_MISSING'
                    when amount is null then 'AMOUNT_NOT_NUMBER'
                    when date_text is null then 'DATE_MISSING'
                    when payment_date is null then 'DATE_INVALID'
                end as rule
            from parsed
            """
        )
        # A file whose name states no period: the months its good rows cover.
        con.execute(
            """
            update spend_batch set period_start = r.first_day, period_end = r.last_day, period_from = 'rows'
            from (
                select file_no, date_trunc('month', min(payment_date))::date as first_day,
                       last_day(max(payment_date)) as last_day
                from spend_judged where rule is null group by file_no
            ) as r
            where spend_batch.file_no = r.file_no and spend_batch.period_start is null
            """
        )
        con.execute("update spend_batch set period_start = date '1900-01-01', period_end = date '1900-01-01', "
                    "period_from = 'none' where period_start is null")
        outcome = first.outcome
        con.execute(
            f"""
            insert into raw.spend_lines ({", ".join(RAW_COLUMNS)})
            select b.la_gss_code, j.body_text, j.payment_date, j.transaction_id_text, j.amount, j.supplier_name_text,
                   j.supplier_id_text, j.company_number_text, j.charity_number_text, j.service_area_text,
                   j.expense_type_text, j.expense_code_text, j.description_text, j.classification_text, j.date_text,
                   j.amount_text,
                   b.period_start, b.period_end, b.period_from,
                   case when j.payment_date not between b.period_start and b.period_end
                        then 'DATE_OUTSIDE_PERIOD' end,
                   b.source_file, b.sha256, j.src_record, ?
            from spend_judged as j inner join spend_batch as b on j.file_no = b.file_no
            where j.rule is null
            """,
            [outcome.load_id],
        )
        values = "json_object(" + ", ".join(f"'{name}', {name}_text" for name in FIELDS) + ")"
        messages = "case rule " + " ".join(f"when {_text(c)} then {_text(m)}" for c, m in QUARANTINE_MESSAGES.items())
        con.execute(
            f"""
            insert into audit.quarantine
            select ?, b.source_file, b.sha256, j.src_record, j.rule,
                   {messages} end
                   || case when j.rule in ('AMOUNT_NOT_NUMBER') then ': ''' || j.amount_text || ''''
                           when j.rule in ('DATE_INVALID') then ': ''' || j.date_text || ''''
                           else '' end,
                   {values}
            from spend_judged as j inner join spend_batch as b on j.file_no = b.file_no
            where j.rule is not null
            union all
            select ?, b.source_file, b.sha256, r.src_record,
                   case r.error_type {" ".join(f"when {_text(k)} then {_text(v)}" for k, v in REJECT_RULES.items())}
                        else 'UNPARSABLE_ROW' end,
                   case r.error_type when 'TOO MANY COLUMNS' then 'the row has more fields than the header''s {n}'
                        when 'MISSING COLUMNS' then 'the row has fewer fields than the header''s {n}'
                        else 'the line cannot be read as CSV' end || ' (' || r.error_message || ')',
                   json_object('csv_line', r.csv_line)
            from spend_rejected as r inner join spend_batch as b on r.file_no = b.file_no
            """,
            [outcome.load_id, outcome.load_id],
        )
        counts = con.execute(
            f"""
            select b.file_no, b.period_start, b.period_end, b.period_from,
                   coalesce(j.n, 0) + coalesce(r.n, 0), coalesce(j.bad, 0) + coalesce(r.n, 0),
                   coalesce(j.outside, 0), j.outside_rows
            from spend_batch as b
            left join (
                select file_no, count(*) as n, count(*) filter (where rule is not null) as bad,
                       count(*) filter (where rule is null and payment_date not between b2.period_start and b2.period_end)
                         as outside,
                       string_agg(src_record::varchar, ', ' order by src_record)
                         filter (where rule is null and payment_date not between b2.period_start and b2.period_end)
                         as outside_rows
                from spend_judged inner join spend_batch as b2 using (file_no) group by file_no
            ) as j on b.file_no = j.file_no
            left join (select file_no, count(*) as n from spend_rejected group by file_no) as r
                on b.file_no = r.file_no
            order by b.file_no
            """
        ).fetchall()
        for file_no, start, end, source, read, bad, outside, outside_rows in counts:
            prepared = batch[file_no]
            o = prepared.outcome
            o.rows_read, o.rows_quarantined, o.rows_loaded = read, bad, read - bad
            o.notes = list(prepared.notes)
            o.notes.append(f"period {start:%Y-%m-%d}..{end:%Y-%m-%d} from the {source}" if source != "none"
                           else "no period: no usable rows")
            if outside:
                rows = ", ".join(outside_rows.split(", ")[:FLAGGED_ROWS_LISTED])
                more = " ..." if outside > FLAGGED_ROWS_LISTED else ""
                o.notes.append(f"DATE_OUTSIDE_PERIOD: {outside} row(s) dated outside the file's period, kept and "
                               f"flagged (rows {rows}{more})")
            if prepared.truncated:
                o.notes.append("the file ends inside its last row: it looks truncated")
            o.status = audit.LOADED_WITH_QUARANTINE if o.rows_quarantined else audit.LOADED
            o.error = None
        _write_load_log(con, [p.outcome for p in batch])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _write_load_log(con: duckdb.DuckDBPyConnection, outcomes: list[audit.FileLoad]) -> None:
    """One load_log row per file of a batch, in one statement (audit.FileLoad.write does one file at a time)."""
    con.executemany(
        "delete from audit.load_log where path = ? and coalesce(sha256, '') = coalesce(?, '') and status = ?",
        [[str(o.path), o.sha256, audit.FAILED] for o in outcomes],
    )
    con.executemany(
        "insert into audit.load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [[o.load_id, str(o.path), o.path.name, o.sha256, o.source, o.kind, o.la, o.reference_date, o.encoding,
          o.header_record, o.rows_read, o.rows_loaded, o.rows_quarantined, o.status, o.error,
          "; ".join(o.notes) or None] for o in outcomes],
    )


CHOICES_DDL = """
create table if not exists audit.spend_column_choices (
    load_id varchar not null,
    path varchar not null,
    sha256 varchar not null,
    role varchar not null,
    column_index integer,
    column_name varchar,
    how varchar not null,
    runner_up varchar,
    why varchar,
    evidence varchar
);
"""


CHOICE_COLUMNS = ("load_id", "path", "sha256", "role", "column_index", "column_name", "how", "runner_up", "why",
                  "evidence")


def _record_choices(con: duckdb.DuckDBPyConnection, prepared: list[Prepared]) -> None:
    """Why each role's column was taken, with the runner-up and the evidence for both: one row per file and role,
    written in one statement."""
    rows = [{"load_id": p.outcome.load_id, "path": str(p.outcome.path), "sha256": p.outcome.sha256, **r}
            for p in prepared if p.layout for r in p.layout.records()]
    if not rows:
        return
    lists = [[row[c] for row in rows] for c in CHOICE_COLUMNS]
    selects = ", ".join(f"unnest(?::{'integer' if c == 'column_index' else 'varchar'}[])" for c in CHOICE_COLUMNS)
    con.execute(f"insert into audit.spend_column_choices select {selects}", lists)


def _batches(prepared: list[Prepared]) -> list[list[Prepared]]:
    by_shape: dict[tuple, list[Prepared]] = {}
    for p in prepared:
        by_shape.setdefault(p.shape, []).append(p)
    batches = []
    for group in by_shape.values():
        current: list[Prepared] = []
        size = 0
        for p in group:
            if current and size + p.size > BATCH_BYTES:
                batches.append(current)
                current, size = [], 0
            current.append(p)
            size += p.size
        if current:
            batches.append(current)
    return batches


def _land(con: duckdb.DuckDBPyConnection, batch: list[Prepared]) -> None:
    try:
        _land_batch(con, batch)
        return
    except duckdb.Error as error:
        if "parallel=false" in str(error):  # quoted line breaks: the single-threaded reader handles them
            try:
                _land_batch(con, batch, parallel=False)
                return
            except duckdb.Error:
                pass
        if len(batch) == 1:
            batch[0].outcome.notes = []
            batch[0].outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")
            return
    for p in batch:  # one file spoiled the batch: every file is tried on its own
        try:
            _land_batch(con, [p], parallel=False)
        except duckdb.Error as error:
            p.outcome.notes = []
            p.outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")


def load_folder(con: duckdb.DuckDBPyConnection, folder: Path, load_id: str) -> list[audit.FileLoad]:
    """Every file under spend/<LA>/; one bad file never stops the others. Returns one outcome per file looked at
    (files whose bytes were loaded before are skipped and not returned)."""
    ensure_raw_tables(con)
    install_macros(con)
    listing = inbox.walk(folder)
    folder = listing.folder
    looks = {file.path: file for file in listing.files}
    known = {row[0] for row in con.execute(
        "select distinct sha256 from audit.load_log where sha256 is not null and status in (?, ?, ?)",
        [*audit.GOOD_STATUSES, audit.DUPLICATE]).fetchall()}
    outcomes: list[audit.FileLoad] = []
    prepared: list[Prepared] = []
    first_path: dict[str, Path] = {}
    known_layouts: dict = {}
    inspected: list[Inspected] = []
    with tempfile.TemporaryDirectory(prefix="spend-") as workdir:
        for file in listing.files:
            outcome = audit.FileLoad(load_id=load_id, path=file.path, source=SOURCE)
            try:
                file.check()
                outcome.sha256 = sha256_of(file.path)
                if outcome.sha256 in known and audit.already_loaded(con, outcome):
                    if outcome.status == audit.DUPLICATE:
                        outcomes.append(outcome)
                    continue
                if outcome.sha256 in first_path:
                    outcome.status = audit.DUPLICATE
                    outcome.error = f"same content as {first_path[outcome.sha256]}, loaded in this run: nothing added"
                    outcome.write(con)
                    outcomes.append(outcome)
                    continue
                inspected.append(inspect(outcome.path, folder, outcome, Path(workdir), con))
                first_path[outcome.sha256] = outcome.path
            except IngestError as error:
                outcome.fail(con, error.rule, error.message)
            except (duckdb.Error, OSError, UnicodeError, csv.Error) as error:
                outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")
            outcomes.append(outcome)
        # The first file of each layout (LA x header) is measured in full, all of them in one grouped query;
        # later files of a layout take its choices (spend_layout.decide).
        firsts = {}
        for seen in inspected:
            firsts.setdefault(seen.layout_key, seen)
        measured = measure_many(con, [(seen.readable, seen.header) for seen in firsts.values()])
        evidence = {key: measured[i] for i, key in enumerate(firsts)}
        for seen in inspected:
            try:
                is_first = firsts[seen.layout_key] is seen
                prepared.append(finish(con, seen, known_layouts, evidence[seen.layout_key] if is_first else None))
            except IngestError as error:
                seen.outcome.fail(con, error.rule, error.message)
            except (duckdb.Error, OSError, UnicodeError, csv.Error) as error:
                seen.outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")
        _record_choices(con, prepared)
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
        if _bytes(MEMORY_LIMIT) < _bytes(limit):
            con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        try:
            for batch in _batches(prepared):
                batch = [p for p in batch if inbox.still_as_listed(con, looks[p.path], p.outcome)]
                if batch:
                    _land(con, batch)
        finally:
            con.execute(f"set memory_limit = '{limit}'")
            con.execute("drop table if exists spend_landed; drop table if exists spend_judged")
    return outcomes + inbox.record_skipped(con, listing, SOURCE, load_id)

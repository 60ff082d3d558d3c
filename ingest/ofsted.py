"""Ofsted "Children's social care data in England" provider files -> raw.ofsted_providers / _places / _closed_homes.

Any year's provider-level, places or closed-homes CSV: the header is found by its content, column names are
mapped through ofsted_columns.yml, the snapshot date comes from the title line or the file name.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from ingest import audit, inbox, postcodes
from ingest.csv_files import (
    HeaderMatch,
    OVERFLOW_COLUMNS,
    find_header,
    head_records,
    land_and_log,
    normalise_header,
    readable_copy,
    sha256_of,
)
from ingest.errors import IngestError

SOURCE = "ofsted"
URN_PATTERN = r"^(SC[0-9]{6}|[0-9]{6,7})$"
PROVENANCE_COLUMNS = ("reference_date", "source_file", "file_sha256", "source_row_number", "load_id")


@dataclass(frozen=True)
class ColumnSpec:
    patterns: dict[str, list[re.Pattern]]
    ignored_sections: tuple[str, ...]
    kinds: dict[str, dict]

    @property
    def canonical(self) -> list[str]:
        return list(self.patterns)

    def table(self, kind: str) -> str:
        return self.kinds[kind]["table"]


@lru_cache(maxsize=1)
def column_spec() -> ColumnSpec:
    config = yaml.safe_load((Path(__file__).with_name("ofsted_columns.yml")).read_text())
    patterns = {
        name: [re.compile(pattern) for pattern in synonyms] for name, synonyms in config["columns"].items()
    }
    return ColumnSpec(patterns, tuple(config["ignored_sections"]), config["kinds"])


def canonical_name(cell: str, section: str = "") -> str | None:
    """The canonical column a header cell stands for, trying '<section> <cell>' before the cell alone."""
    spec = column_spec()
    section = normalise_header(section)
    if any(word in section for word in spec.ignored_sections):
        return None
    candidates = [f"{section} {normalise_header(cell)}".strip(), normalise_header(cell)] if section else [normalise_header(cell)]
    for candidate in candidates:
        for name, patterns in spec.patterns.items():
            if any(pattern.fullmatch(candidate) for pattern in patterns):
                return name
    return None


def _looks_like_header(normalised_cells: list[str]) -> bool:
    names = {canonical_name(cell) for cell in normalised_cells if cell}
    signals = {"provision_type", "registration_date", "registration_status", "local_authority", "places", "date_closed", "sector"}
    return "urn" in names and len(names & signals) >= 2


def map_columns(header: HeaderMatch) -> tuple[dict[str, int], list[str]]:
    """canonical name -> column index, and the header cells that map to nothing (kept in the load notes)."""
    sections = header.super_header
    mapping: dict[str, int] = {}
    unmapped: list[str] = []
    for index, cell in enumerate(header.cells):
        section = sections[index] if index < len(sections) else ""
        name = canonical_name(cell, section)
        if name is None or name in mapping:
            if cell.strip():
                unmapped.append(" ".join(cell.split()))
            continue
        mapping[name] = index
    return mapping, unmapped


MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
# A month as a word of its own ("Mar", "March", "31Mar23"), never inside another word ("summary", "decision").
_MONTH_WORD = (
    r"(?<![a-z])(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])"
)
_DAY = r"(?:(?<![0-9])(\d{1,2})(?:st|nd|rd|th)?[\s_-]*)?"
_TITLE_DATE = re.compile(r"\bat[\s_-]+" + _DAY + _MONTH_WORD + r"[\s_,-]*((?:19|20)\d{2})(?![0-9])", re.I)
_NAME_DATE = re.compile(_DAY + _MONTH_WORD + r"[\s_-]*((?:19|20)\d{2}|\d{2})(?![0-9])", re.I)
_ISO_DATE = re.compile(r"(?<![0-9])((?:19|20)\d{2})[-_]([01]\d)[-_]([0-3]\d)(?![0-9])")
_FINANCIAL_YEAR = re.compile(r"(?<![0-9])(20\d{2})(?:[\s_-]+|[\s_]+to[\s_]+)(20\d{2}|\d{2})(?![0-9])", re.I)
_YEAR_ONLY = re.compile(r"(?<![0-9])(20\d{2})(?![0-9])")


def _make_date(day: str | None, month_word: str, year: str) -> dt.date:
    month = MONTHS[month_word[:3].lower()]
    year_number = int(year) + (2000 if len(year) == 2 else 0)
    last = calendar.monthrange(year_number, month)[1]
    return dt.date(year_number, month, min(int(day), last) if day else last)


def year_ending_named(text: str) -> int | None:
    """The 31 March a year names: '2019' -> 2019, a financial year '2018-19' / '2018 to 2019' -> 2019."""
    for match in _FINANCIAL_YEAR.finditer(text):
        first, second = int(match.group(1)), int(match.group(2)[-2:])
        if second == (first + 1) % 100:
            return first + 1
    years = _YEAR_ONLY.findall(text)
    return int(years[-1]) if years else None


def snapshot_date(path: Path, preamble: list[list[str]]) -> tuple[dt.date, str | None]:
    """The 'as at' date of a file: from its title line, else its file name; a year alone means 31 March."""
    title = " ".join(cell for record in preamble for cell in record if cell)
    match = _TITLE_DATE.search(title)
    if match:
        return _make_date(match.group(1), match.group(2), match.group(3)), None
    stem = path.stem.replace(".", " ")
    match = _ISO_DATE.search(stem)
    if match:
        try:
            return dt.date(*(int(part) for part in match.groups())), None
        except ValueError:
            pass
    match = _NAME_DATE.search(stem)
    if match:
        return _make_date(match.group(1), match.group(2), match.group(3)), None
    year = year_ending_named(stem) or year_ending_named(title)
    if year:
        return dt.date(year, 3, 31), f"no month in the file name or title: taken as at 31 March {year}"
    raise IngestError(
        path, "SNAPSHOT_DATE_UNKNOWN",
        "cannot tell the 'as at' date: neither the title line nor the file name gives it "
        "(rename the file, e.g. provider_level_at_31_March_2024.csv)",
    )


def file_kind(path: Path, mapping: dict[str, int]) -> str:
    """closed_homes (has a closure date), places (a provider list without inspection columns, e.g.
    Providers_places_at_31_Aug_2023.csv) or provider_level (every 'as at' provider-level file carries the
    latest full inspection). Decided by the columns, so a renamed file keeps its kind."""
    if "date_closed" in mapping:
        return "closed_homes"
    has_inspections = bool({"inspection_date", "overall_effectiveness"} & mapping.keys())
    if not has_inspections and ("places" in mapping or "place" in path.name.lower()):
        return "places"
    return "provider_level"


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    audit.ensure_audit_schema(con)
    spec = column_spec()
    for kind in spec.kinds:
        table = f"raw.{spec.table(kind)}"
        columns = ", ".join(f"{name} varchar" for name in spec.canonical)
        con.execute(
            f"create table if not exists {table} ({columns}, reference_date date, source_file varchar, "
            "file_sha256 varchar, source_row_number bigint, load_id varchar)"
        )
        for name in spec.canonical:  # a synonym file that grows a column grows the table with it
            con.execute(f"alter table {table} add column if not exists {name} varchar")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


DUPLICATE_URN = ("DUPLICATE_URN", "the URN already appears on an earlier row of this file")


def _quarantine_rules(mapping: dict[str, int], n_columns: int, truncated: bool) -> list[tuple[str, str, str]]:
    """(rule, SQL condition over c0..cN, message) in the order they are tested; a row takes the first it fails.
    DUPLICATE_URN is judged afterwards, among the rows that pass all of these."""
    cells = [f"c{i}" for i in range(n_columns)]
    overflow = [f"c{i}" for i in range(n_columns, n_columns + OVERFLOW_COLUMNS)]
    urn = f"upper(trim(c{mapping['urn']}))"
    rules = [
        ("BLANK_ROW", " and ".join(f"nullif(trim({c}), '') is null" for c in cells + overflow),
         "every field is empty"),
        ("EXTRA_FIELDS", " or ".join(f"{c} is not null" for c in overflow),
         f"the row has more fields than the header's {n_columns}"),
    ]
    if truncated:
        last_record = "greatest((select max(src_record) from landed), (select max(src_record) from landed_rejects))"
        rules.append(("TRUNCATED_ROW", f"src_record = {last_record}", "the file ends inside this row: it was cut off"))
    rules += [
        ("URN_MISSING", f"nullif({urn}, '') is null", "no URN: a note or footer line, or a provider without its URN"),
        ("URN_FORMAT", f"not regexp_full_match({urn}, '{URN_PATTERN[1:-1]}')",
         "URN is not SC followed by 6 digits or a 6-7 digit number"),
    ]
    return rules


def load_file(con: duckdb.DuckDBPyConnection, file: inbox.InboxFile, load_id: str, workdir: Path) -> audit.FileLoad:
    """Land one Ofsted file. Raises nothing for bad input: the outcome is in the returned (and logged) FileLoad."""
    path = file.path
    outcome = audit.FileLoad(load_id=load_id, path=path, source=SOURCE)
    try:
        file.check()
        outcome.sha256 = sha256_of(path)
        if audit.already_loaded(con, outcome):
            return outcome
        _land(con, path, outcome, workdir)
    except IngestError as error:
        outcome.fail(con, error.rule, error.message)
    except (duckdb.Error, OSError, UnicodeError) as error:
        outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")
    return outcome


def _land(con: duckdb.DuckDBPyConnection, path: Path, outcome: audit.FileLoad, workdir: Path) -> None:
    with readable_copy(path, outcome, workdir) as readable:
        _land_readable(con, path, readable, outcome)


# The publication's "Provider level data in year 2018-19" lists every inspection of the year (a provider on
# several rows): landed as a snapshot it would stand in for the 'as at' file of that 31 March.
_IN_YEAR = re.compile(r"(?<![a-z])in[\s_-]*year(?![a-z])", re.I)


def _land_readable(con: duckdb.DuckDBPyConnection, path: Path, readable: Path, outcome: audit.FileLoad) -> None:
    header = find_header(path, head_records(readable), _looks_like_header)
    mapping, unmapped = map_columns(header)
    kind = file_kind(path, mapping)
    missing = [name for name in column_spec().kinds[kind]["required"] if name not in mapping]
    if missing:
        raise IngestError(
            path, "MISSING_COLUMN",
            f"a {kind.replace('_', '-')} file needs column(s) {', '.join(missing)}; header has: "
            + ", ".join(" ".join(cell.split()) for cell in header.cells if cell.strip()),
        )
    title = " ".join(cell for record in header.preamble for cell in record if cell)
    if kind == "provider_level" and _IN_YEAR.search(f"{path.stem} {title}"):
        raise IngestError(
            path, "NOT_A_SNAPSHOT",
            "this is an 'in year' inspections file (one row per inspection), not a provider-level snapshot; "
            "load the 'provider level as at' file of the same publication instead",
        )
    outcome.kind = kind
    outcome.header_record = header.index + 1
    outcome.reference_date, note = snapshot_date(path, header.preamble)
    if note:
        outcome.notes.append(note)
    if unmapped:
        outcome.notes.append("columns not mapped: " + ", ".join(unmapped))

    n_columns = len(header.cells)
    land_and_log(
        con, path, readable, outcome, header,
        lambda truncated: _split_and_store(con, path, outcome, header, mapping, kind, n_columns, truncated),
    )


def _district_only(cell: str) -> str:
    """A setting's postcode is kept as its district (no full postcode enters the warehouse); other text
    (REDACTED, a withheld marker) as it is."""
    text = postcodes.NORMALISED.format(col=cell)
    return (f"case when regexp_full_match({text}, '{postcodes.PATTERN}') "
            f"then regexp_extract({text}, '{postcodes.PATTERN}', 1) else nullif(trim({cell}), '') end")


def _split_and_store(con, path, outcome, header, mapping, kind, n_columns, truncated) -> None:
    rules = _quarantine_rules(mapping, n_columns, truncated)
    messages = [(rule, message) for rule, _, message in rules] + [DUPLICATE_URN]
    message_case = "case rule " + " ".join(f"when {_sql_text(r)} then {_sql_text(m)}" for r, m in messages) + " end"
    labels = [" ".join(cell.split()) or f"column_{i + 1}" for i, cell in enumerate(header.cells)]
    postcode_at = mapping.get("postcode")
    raw_json = "json_object(" + ", ".join(
        f"{_sql_text(label)}, {_district_only(f'c{i}') if i == postcode_at else f'c{i}'}"
        for i, label in enumerate(labels)) + ")"
    row_case = "case " + " ".join(f"when {c} then {_sql_text(r)}" for r, c, _ in rules) + " end"
    con.execute(f"create or replace temp table judged as select *, {row_case} as rule from landed")
    # A repeated URN is only a duplicate of a row that is itself kept, so it is judged among the survivors.
    urn = f"upper(trim(c{mapping['urn']}))"
    con.execute(
        f"""
        update judged set rule = {_sql_text(DUPLICATE_URN[0])}
        where src_record in (
            select src_record from (
                select src_record, row_number() over (partition by {urn} order by src_record) as occurrence
                from judged where rule is null
            ) where occurrence > 1
        )
        """
    )
    con.execute(
        f"""
        insert into audit.quarantine
        select ?, ?, ?, src_record, rule, {message_case}, {raw_json}
        from judged where rule is not null
        """,
        [outcome.load_id, str(path), outcome.sha256],
    )
    spec = column_spec()
    targets = list(mapping) + list(PROVENANCE_COLUMNS)
    values = [_district_only(f"c{index}") if name == "postcode" else f"nullif(trim(c{index}), '')"
              for name, index in mapping.items()]
    values += ["?::date", "?", "?", "src_record", "?"]
    con.execute(
        f"insert into raw.{spec.table(kind)} ({', '.join(targets)}) "
        f"select {', '.join(values)} from judged where rule is null order by src_record",
        [outcome.reference_date, str(path), outcome.sha256, outcome.load_id],
    )
    counts = con.execute("select count(*), count(*) filter (where rule is not null) from judged").fetchone()
    outcome.rows_read, outcome.rows_quarantined = counts
    outcome.rows_loaded = counts[0] - counts[1]
    con.execute("drop table judged")


def load_folder(con: duckdb.DuckDBPyConnection, folder: Path, load_id: str) -> list[audit.FileLoad]:
    """Every CSV under folder (any depth), in name order; one bad file never stops the others."""
    ensure_raw_tables(con)
    listing = inbox.walk(folder)
    with tempfile.TemporaryDirectory(prefix="ofsted-") as workdir:
        outcomes = [load_file(con, file, load_id, Path(workdir)) for file in listing.files if file.is_csv]
    for file in listing.files:
        if not file.is_csv:
            outcomes.append(inbox.refuse_if_not_csv(con, file, SOURCE, load_id))
    return [o for o in outcomes if o is not None] + inbox.record_skipped(con, listing, SOURCE, load_id)

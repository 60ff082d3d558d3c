"""SSDA903 returns (`inbox/ssda903/<LA>/<YYYY>/*.csv`) -> raw.ssda903_episodes / _header / _uasc / _other.

Tables are recognised by their columns (ssda903_tables.yml). Privacy is applied here, before anything is
stored: CHILD becomes a keyed hash, dates of birth keep only their month, partial postcodes only their
outward code, UPN is dropped. Rows are judged in SQL by rules carrying DfE rule codes: a row failing a rule
that makes it unusable is quarantined, a row with a warning is kept with the rule code in `warning_rules`.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from ingest import audit, inbox, postcodes
from ingest.csv_files import (
    OVERFLOW_COLUMNS,
    HeaderMatch,
    ends_mid_record,
    find_header,
    head_records,
    land_files,
    line_ending,
    readable_copy,
    sha256_of,
)
from ingest.errors import IngestError
from ingest.local_authorities import LocalAuthority, resolve_la

SOURCE = "ssda903"
CHILD_ID_KEY_ENV = "WAREHOUSE_CHILD_ID_KEY"
DEMO_CHILD_ID_KEY = "demo-only-not-a-secret"
# Share of a file's episodes dated after the collection year beyond which the whole file is taken to be
# filed under the wrong year, rather than a few mistyped dates.
WRONG_YEAR_SHARE = 0.05

PROVENANCE = """
    la_gss_code varchar not null, la_dfe_code varchar, collection_year integer not null, warning_rules varchar,
    source_file varchar not null, file_sha256 varchar not null, source_row_number bigint not null,
    load_id varchar not null
"""
RAW_DDL = f"""
create schema if not exists raw;
create table if not exists raw.ssda903_episodes (
    child_id varchar not null, decom date not null, rne varchar, ls varchar, cin varchar, place varchar not null,
    place_provider varchar, dec date, rec varchar, reason_place_change varchar, home_postcode_district varchar,
    placement_postcode_district varchar, urn varchar, placement_la_gss_code varchar, distance_miles double,
    home_postcode_found varchar, placement_postcode_found varchar, placement_postcode_key varchar, {PROVENANCE}
);
alter table raw.ssda903_episodes add column if not exists placement_postcode_key varchar;
alter table raw.ssda903_episodes add column if not exists placement_la_gss_code varchar;
alter table raw.ssda903_episodes add column if not exists distance_miles double;
alter table raw.ssda903_episodes add column if not exists home_postcode_found varchar;
alter table raw.ssda903_episodes add column if not exists placement_postcode_found varchar;
-- The error report of every return, in the shape of the DfE validator's: one row per rule broken by a row.
create table if not exists audit.ssda903_rule_failures (
    load_id varchar not null, la_gss_code varchar not null, collection_year integer not null,
    table_name varchar not null, source_file varchar not null, file_sha256 varchar not null,
    source_row_number bigint, child_id varchar, rule_code varchar not null, severity varchar not null,
    scope varchar not null, fields varchar, message varchar not null
);
create table if not exists raw.ssda903_header (
    child_id varchar not null, sex varchar, dob_month date not null, ethnic varchar, mother varchar,
    mc_dob_month date, {PROVENANCE}
);
create table if not exists raw.ssda903_uasc (
    child_id varchar not null, sex varchar, dob_month date not null, duc date, {PROVENANCE}
);
create table if not exists raw.ssda903_other (
    table_name varchar not null, child_id varchar not null, dob_month date, fields json, {PROVENANCE}
);
"""
# Stored columns by name, so that a warehouse whose tables grew columns later (alter table) takes the same insert.
RAW_COLUMNS = {
    "ssda903_episodes": "child_id, decom, rne, ls, cin, place, place_provider, dec, rec, reason_place_change, "
                        "home_postcode_district, placement_postcode_district, urn, placement_la_gss_code, "
                        "distance_miles, home_postcode_found, placement_postcode_found, placement_postcode_key, ",
    "ssda903_header": "child_id, sex, dob_month, ethnic, mother, mc_dob_month, ",
    "ssda903_uasc": "child_id, sex, dob_month, duc, ",
    "ssda903_other": "table_name, child_id, dob_month, fields, ",
}
RAW_TABLE = {"episodes": "ssda903_episodes", "header": "ssda903_header", "uasc": "ssda903_uasc"}
DATE_FORMATS = "['%d/%m/%Y', '%Y-%m-%d', '%d/%m/%Y %H:%M:%S', '%Y-%m-%d %H:%M:%S', '%d-%m-%Y']"
URN_PATTERN = r"^(SC[0-9]{6}|[0-9]{6,7}|X{7})$"


@dataclass(frozen=True)
class Tables:
    tables: dict[str, dict]
    codes: dict[str, list[dict]]

    def allowed(self, field: str, year: int) -> list[str]:
        return sorted({
            code
            for block in self.codes[field]
            if block.get("from", 0) <= year <= block.get("until", 9999)
            for code in block["codes"]
        })


@lru_cache(maxsize=1)
def tables_spec() -> Tables:
    config = yaml.safe_load(Path(__file__).with_name("ssda903_tables.yml").read_text())
    codes = {field: [{**b, "codes": [str(c) for c in b["codes"]]} for b in blocks]
             for field, blocks in config["codes"].items()}
    return Tables(config["tables"], codes)


def child_id_key() -> str:
    return os.environ.get(CHILD_ID_KEY_ENV) or DEMO_CHILD_ID_KEY


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    audit.ensure_audit_schema(con)
    con.execute(RAW_DDL)


def column_name(cell: str) -> str:
    """'DECOM', ' decom ', 'PLACE_\nPROVIDER' and 'DECOM\n(date episode commenced)' all name the same column:
    a note in brackets is not part of the name."""
    cell = re.sub(r"\([^)]*\)", "", cell.replace("\ufeff", ""))
    return re.sub(r"[^A-Z0-9]+", "_", cell.strip().upper()).strip("_")


def table_kind(path: Path, columns: list[str]) -> str:
    present = set(columns)
    for kind, spec in tables_spec().tables.items():
        if set(spec["signature"]) <= present:
            missing = [c for c in spec["required"] if c not in present]
            if missing:
                raise IngestError(path, "MISSING_COLUMN",
                                  f"a {kind} table needs column(s) {', '.join(missing)}; header has: {', '.join(columns)}")
            return kind
    raise IngestError(
        path, "UNKNOWN_KIND",
        f"not an SSDA903 table: columns {', '.join(columns[:12])} match none of "
        f"{', '.join(tables_spec().tables)}",
    )


def _looks_like_header(normalised_cells: list[str]) -> bool:
    return "child" in normalised_cells


@dataclass(frozen=True)
class Return:
    """Where a file sits: the LA and collection year its folders name."""

    la: LocalAuthority  # the authority of that year (Somerset County Council before April 2023)
    collection_year: int
    # Child ids are hashed with today's authority, so a child keeps one id across a reorganisation.
    identity_gss_code: str

    @property
    def year_start(self) -> dt.date:
        return dt.date(self.collection_year - 1, 4, 1)

    @property
    def year_end(self) -> dt.date:
        return dt.date(self.collection_year, 3, 31)


def return_of(path: Path, inbox_folder: Path) -> Return:
    parts = path.relative_to(inbox_folder).parts
    if len(parts) != 3:
        raise IngestError(path, "WRONG_FOLDER",
                          "SSDA903 files go in ssda903/<LA>/<YYYY>/ (LA name, GSS or DfE code; collection year)")
    la_text, year_text = parts[0], parts[1]
    if not re.fullmatch(r"(19|20)\d{2}", year_text):
        raise IngestError(path, "YEAR_FOLDER",
                          f"folder '{year_text}' is not a collection year (YYYY, the year of the 31 March it ends)")
    year = int(year_text)
    la = resolve_la(la_text, as_of=dt.date(year, 3, 31))
    if la is None:
        raise IngestError(path, "UNKNOWN_LA",
                          f"folder '{la_text}' names no English local authority (use its name, GSS or DfE code)")
    current = resolve_la(la_text) or la
    return Return(la, year, current.gss_code)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: list[str]) -> str:
    return "(" + ", ".join(_text(v) for v in values) + ")"


def _date(expr: str) -> str:
    return f"try_strptime({expr}, {DATE_FORMATS})::date"


# Date fields are parsed once per row, into <field>_date beside the text.
DATE_FIELDS = ("DECOM", "DEC", "DOB", "MC_DOB", "DUC")


RULES_DIR = Path(__file__).with_name("ssda903_rules")
# The DfE validator's table names, by the kind of table recognised here.
DFE_TABLE = {"episodes": "Episodes", "header": "Header", "uasc": "UASC", "reviews": "Reviews", "missing": "Missing",
             "oc2": "OC2", "oc3": "OC3", "ad1": "AD1", "placed_for_adoption": "PlacedAdoption",
             "previous_permanence": "PrevPerm"}
QUARANTINE, WARN = "quarantine", "warn"
# The lander's own rules (scope 'file' in the rule tables, listed there for the report and the README): what they
# do is fixed here, and a table must say the same.
FILE_RULES = {"BLANK_ROW": QUARANTINE, "EXTRA_FIELDS": QUARANTINE, "TRUNCATED_ROW": QUARANTINE,
              "CHILD_MISSING": QUARANTINE, "UNPARSABLE_ROW": QUARANTINE, "DUPLICATE_EPISODE": QUARANTINE,
              "INT32": QUARANTINE, "INT36": QUARANTINE, "DOB_INVALID": WARN}


@dataclass(frozen=True)
class Rule:
    code: str
    table: str  # the DfE table name, 'any' (every table) or 'other' (tables without a raw table of their own)
    scope: str  # 'row' (judged at the door), 'return' (judged over a landed return) or 'file' (the lander's own)
    severity: str  # 'quarantine' or 'warn'
    fields: str
    message: str
    condition: str = ""  # SQL (rules_<YYYY>.csv / conditions.yml), empty for the lander's own rules

    def applies_to(self, kind: str) -> bool:
        return self.table in (DFE_TABLE[kind], "any") or (self.table == "other" and kind not in RAW_TABLE)


def rules_file(year: int) -> Path:
    """The rule table in force for a collection year: the latest one from that year or before (else the first)."""
    tables = sorted((int(p.stem.split("_")[1]), p) for p in RULES_DIR.glob("rules_*.csv"))
    return max(((y, p) for y, p in tables if y <= year), default=tables[0])[1]


@lru_cache(maxsize=None)
def rules_of_year(year: int) -> tuple[Rule, ...]:
    """Every rule checked in a collection year, its SQL filled in with the year's code lists and dates."""
    conditions = yaml.safe_load((RULES_DIR / "conditions.yml").read_text())
    codes = {field: _in_list(tables_spec().allowed(field, year)) for field in tables_spec().codes}
    dates = {"year_start": f"date '{year - 1}-04-01'", "year_end": f"date '{year}-03-31'"}
    rules = []
    with rules_file(year).open(newline="") as handle:
        for row in csv.DictReader(handle):
            rule = Rule(**{k: (v or "").strip() for k, v in row.items()})
            if rule.severity not in (QUARANTINE, WARN) or rule.scope not in ("row", "return", "file"):
                raise ValueError(f"{rules_file(year).name}: rule {rule.code} has severity '{rule.severity}' and scope "
                                 f"'{rule.scope}' (severity: quarantine or warn; scope: row, return or file)")
            name = rules_file(year).name
            if rule.scope == "return" and rule.severity != WARN:
                raise ValueError(f"{name}: rule {rule.code} judges a landed return, so it can only warn")
            if rule.scope == "file" and FILE_RULES.get(rule.code) != rule.severity:
                raise ValueError(f"{name}: {rule.code} is not a rule of the lander's own, or is '{rule.severity}' "
                                 f"where the lander does '{FILE_RULES.get(rule.code)}'")
            if rule.scope != "file":
                sql = (conditions.get(rule.scope) or {}).get(rule.code)
                if sql is None:
                    raise ValueError(f"{name}: rule {rule.code} has no {rule.scope} SQL in conditions.yml")
                rule = Rule(**{**rule.__dict__, "condition": sql.format(codes=codes, **dates)})
            rules.append(rule)
    return tuple(rules)


def _structural_rules(n_columns: int, truncated: bool) -> list[tuple[str, str]]:
    """The lander's own rules, judged before the DfE's: (code, condition over the landed cells)."""
    cells = [f"c{i}" for i in range(n_columns)]
    overflow = [f"c{i}" for i in range(n_columns, n_columns + OVERFLOW_COLUMNS)]
    rules = [
        ("BLANK_ROW", " and ".join(f"nullif(trim({c}), '') is null" for c in cells + overflow)),
        ("EXTRA_FIELDS", " or ".join(f"{c} is not null" for c in overflow)),
    ]
    if truncated:
        rules.append(("TRUNCATED_ROW", "src_record = (select max(src_record) from landed)"))
    rules.append(("CHILD_MISSING", "child is null"))
    return rules


RuleSql = list[tuple[str, str]]  # (code, condition)


def rules_for(kind: str, year: int, n_columns: int, truncated: bool) -> tuple[RuleSql, RuleSql]:
    """(quarantining, warning) row rules for a table of a return, as (code, condition), in the order judged."""
    row_rules = [r for r in rules_of_year(year) if r.scope == "row" and r.applies_to(kind)]
    errors = _structural_rules(n_columns, truncated) + [(r.code, r.condition) for r in row_rules
                                                        if r.severity == QUARANTINE]
    warnings = [(r.code, r.condition) for r in row_rules if r.severity == WARN]
    if kind not in RAW_TABLE:
        warnings.append(("DOB_INVALID", "dob is not null and dob_date is null"))
    return errors, warnings


# Repeats within one file, judged among rows that pass every other rule: the first occurrence is kept.
DUPLICATE_RULES = {"episodes": ("DUPLICATE_EPISODE", "child, decom"), "header": ("INT32", "child"),
                   "uasc": ("INT36", "child")}


def _safe_values_sql(columns: dict[str, int]) -> str:
    """The row's values for audit.quarantine, with the same privacy as the raw tables."""
    parts = []
    for name in columns:
        col = name.lower()
        if name == "CHILD":
            value = "child_id"
        elif name == "UPN":
            continue
        elif name in ("DOB", "MC_DOB"):
            # an unparsable date is shown so the sender can fix it, unless it may still be a whole date of birth
            value = (f"coalesce(strftime({col}_date, '%Y-%m'), case when regexp_matches({col}, '[0-9]{{4}}') "
                     f"then '(not a valid date; not kept)' else {col} end)")
        elif name in ("HOME_POST", "PL_POST"):
            value = f"regexp_extract({postcodes.NORMALISED.format(col=col)}, '{postcodes.PATTERN}', 1)"
        else:
            value = col
        parts.append(f"{_text(name)}, {value}")
    return "json_object(" + ", ".join(parts) + ")"


@dataclass
class _Pending:
    """A file read as far as its header, waiting to be landed and judged with the other files of its layout."""

    outcome: audit.FileLoad
    ret: Return
    readable: Path  # the file itself, or its UTF-8 copy
    header: HeaderMatch
    index: dict[str, int]  # column name -> position in the header
    truncated: bool

    @property
    def layout(self) -> tuple:
        """Files of one layout share one read and one judging: the same kind, header cells at the same record,
        and the same collection year (its code lists) and line ending. A truncated file is judged alone (its last
        row is cut)."""
        if self.truncated:
            return ("truncated", str(self.outcome.path))
        return (self.outcome.kind, tuple(self.header.cells), self.header.index, self.ret.collection_year,
                line_ending(self.readable))


def _prepare(con: duckdb.DuckDBPyConnection, path: Path, inbox_folder: Path, load_id: str, workdir: Path,
             stack: ExitStack, wrong_year: dict[Path, str], sha256: str | None = None,
             logged: set[str] | None = None) -> audit.FileLoad | _Pending:
    """Everything about one file up to its rows: a _Pending file to land, or the logged outcome of a file that
    is refused or was loaded before. Raises nothing for bad input. `sha256` may be given when already known;
    `logged` (contents audit.load_log has seen, from audit.logged_sha256s) saves asking about every new file."""
    outcome = audit.FileLoad(load_id=load_id, path=path, source=SOURCE)
    try:
        outcome.sha256 = sha256 or sha256_of(path)
        if (logged is None or outcome.sha256 in logged) and audit.already_loaded(con, outcome):
            return outcome
        ret = return_of(path, inbox_folder)
        outcome.la, outcome.reference_date = ret.la.gss_code, ret.year_end
        if path.parent in wrong_year:
            raise IngestError(path, "WRONG_COLLECTION_YEAR", wrong_year[path.parent])
        readable = stack.enter_context(readable_copy(path, outcome, workdir))
        try:
            header = find_header(path, head_records(readable), _looks_like_header)
        except IngestError as error:
            if error.rule != "HEADER_NOT_FOUND":
                raise
            raise IngestError(path, "UNKNOWN_KIND", "not an SSDA903 table: no header row with a CHILD column in "
                              f"its first records ({error.message.split('(', 1)[-1].rstrip(')')})") from error
        columns = [column_name(cell) for cell in header.cells]
        outcome.kind = table_kind(path, columns)
        outcome.header_record = header.index + 1
        index = {name: i for i, name in reversed(list(enumerate(columns))) if name}
        spec = tables_spec().tables[outcome.kind]
        known = set(spec["required"]) | set(spec.get("optional", []))
        extra = [c for c in index if c not in known]
        if extra and outcome.kind in RAW_TABLE:
            outcome.notes.append("columns not used: " + ", ".join(extra))
        return _Pending(outcome, ret, readable, header, index, ends_mid_record(readable, len(header.cells)))
    except IngestError as error:
        outcome.fail(con, error.rule, error.message)
    except (duckdb.Error, OSError, UnicodeError) as error:
        outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")
    return outcome


def _land_all(con: duckdb.DuckDBPyConnection, pending: list[_Pending]) -> None:
    """Land files by layout, one read, one judging and one transaction per layout. If DuckDB fails on a
    layout's batch, its files are landed one by one, so one bad file never stops the others."""
    groups: dict[tuple, list[_Pending]] = {}
    for item in pending:
        groups.setdefault(item.layout, []).append(item)
    for group in groups.values():
        try:
            _land_group(con, group)
        except (duckdb.Error, OSError, UnicodeError, RuntimeError) as error:
            if len(group) > 1:
                for item in group:
                    _land_all(con, [item])
            else:
                group[0].outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")


def _land_group(con: duckdb.DuckDBPyConnection, group: list[_Pending]) -> None:
    """Land, judge and store the files of one layout, and log each of them: one transaction, so every file is
    in the warehouse whole or not at all. The unparsable lines themselves are not kept: they hold raw child ids."""
    first = group[0]
    notes = [list(item.outcome.notes) for item in group]
    con.execute("begin transaction")
    try:
        land_files(con, [item.readable for item in group], "landed", first.header.index + 1, len(first.header.cells))
        facts = "(" + ", ".join(["?"] * 8) + ")"
        con.execute(
            "create or replace temp table landed_facts (file_index bigint, file_identity_gss varchar, "
            "file_la_gss varchar, file_la_dfe varchar, file_year integer, file_path varchar, file_sha256 varchar, "
            "file_load_id varchar)"
        )
        con.execute(
            "insert into landed_facts values " + ", ".join([facts] * len(group)),
            [value for i, item in enumerate(group) for value in (
                i, item.ret.identity_gss_code, item.ret.la.gss_code, item.ret.la.dfe_code, item.ret.collection_year,
                str(item.outcome.path), item.outcome.sha256, item.outcome.load_id)],
        )
        _judge_and_store(con, group)
        audit.write_all(con, [item.outcome for item in group])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        for item, before in zip(group, notes):
            item.outcome.rows_read = item.outcome.rows_loaded = item.outcome.rows_quarantined = 0
            item.outcome.status, item.outcome.error, item.outcome.notes = audit.FAILED, None, before
        raise


def _cell_sql(kind: str, columns: dict[str, int]) -> str:
    """Trimmed text per column of the table (null when blank or absent), from the landed c0..cN."""
    spec = tables_spec().tables[kind]
    names = dict.fromkeys([*columns, *spec["required"], *spec.get("optional", [])])
    return ", ".join(f"nullif(trim(c{columns[n]}), '') as {n.lower()}" if n in columns
                     else f"null::varchar as {n.lower()}" for n in names)


def _judge_and_store(con, group: list[_Pending]) -> None:
    first = group[0]
    kind, ret, index = first.outcome.kind, first.ret, first.index
    year = ret.collection_year
    errors, warnings = rules_for(kind, year, len(first.header.cells), first.truncated)
    # Each rule is judged once per row: the list of those it breaks, in order; the first quarantining one decides
    # the row's fate, the warnings go to warning_rules, all of them to the error report.
    failed_list = "list_filter([" + ", ".join(
        f"case when {sql} then {_text(code)} end" for code, sql in errors + warnings) + "], x -> x is not null)"
    error_codes = "[" + ", ".join(_text(code) for code, _ in errors) + "]"
    warning_codes = "[" + ", ".join(_text(code) for code, _ in warnings) + "]::varchar[]"
    child_hash = "substr(sha256(? || '|' || file_identity_gss || '|' || child), 1, 32)"
    spec = tables_spec().tables[kind]
    present = {*index, *spec["required"], *spec.get("optional", [])}
    dates = (", ".join(f"{_date(f.lower())} as {f.lower()}_date" for f in DATE_FIELDS if f in present)
             or "null as no_date")
    raw_cells = ", ".join(f"c{i}" for i in range(len(first.header.cells) + OVERFLOW_COLUMNS))
    con.execute(
        f"""
        create or replace temp table cells as
        select *, {dates} from (
            select landed.*, landed_facts.file_identity_gss, {_cell_sql(kind, index)}
            from landed join landed_facts using (file_index)
        )
        """
    )
    located, joined = "", ""
    if kind == "episodes":
        # Full postcodes meet the ONS directory here, in this transaction's temp tables only; what is stored is the
        # district, the placement's LA and the distance.
        postcodes.locate(con, "cells", ["file_index", "src_record"], {"home_post": "home", "pl_post": "pl"}, "located")
        located = (f", located.* exclude (file_index, src_record), "
                   f"{postcodes.distance_miles_sql('located.home', 'located.pl')} as pl_distance")
        joined = "join located using (file_index, src_record)"
    con.execute(
        f"""
        create or replace temp table judged as
        with with_places as (select cells.*{located} from cells {joined}),
        ruled as (
            select *, {failed_list} as failed_rules, case when child is not null then {child_hash} end as child_id
            from with_places
        )
        select * exclude ({raw_cells}, file_identity_gss, failed_rules),
               failed_rules,
               list_filter(failed_rules, x -> list_contains({error_codes}, x))[1] as rule,
               nullif(array_to_string(list_filter(failed_rules, x -> list_contains({warning_codes}, x)), ','), '')
                   as warning_rules
        from ruled
        """,
        [child_id_key()],
    )
    if kind in DUPLICATE_RULES:
        # Repeats are judged among the rows passing every other rule, within each file; the window runs over
        # the few key columns only, and the (rare) repeats are marked after, so judged keeps the files' order.
        code, key = DUPLICATE_RULES[kind]
        con.execute(
            f"""
            create or replace temp table repeats as
            select file_index, src_record, occurrence from (
                select file_index, src_record,
                       row_number() over (partition by file_index, {key} order by src_record) as occurrence,
                       count(*) over (partition by file_index, {key}) as copies
                from judged where rule is null
            ) where copies > 1
            """
        )
        if con.execute("select count(*) from repeats").fetchone()[0]:
            # every copy is reported (as the DfE does); the first is kept, the others quarantined
            con.execute(
                f"""
                update judged set failed_rules = list_append(failed_rules, {_text(code)}),
                                  rule = case when repeats.occurrence > 1 then {_text(code)} else judged.rule end
                from repeats
                where judged.file_index = repeats.file_index and judged.src_record = repeats.src_record
                """
            )
    wrong_year = _check_collection_year(con, ret) if kind == "episodes" else {}
    stored = "file_index not in (" + ", ".join(str(i) for i in [-1, *wrong_year]) + ")"
    _record_rule_failures(con, kind, year, stored)
    con.execute(
        "insert into audit.quarantine select file_load_id, file_path, file_sha256, src_record, rule, "
        "rule_info.message || coalesce(' (' || nullif(rule_info.fields, '') || ')', ''), "
        f"{_safe_values_sql(index)} from judged join landed_facts using (file_index) join rule_info on rule = code "
        f"where {stored}"
    )
    con.execute(
        "insert into audit.quarantine select file_load_id, file_path, file_sha256, src_record, 'UNPARSABLE_ROW', "
        f"error_message, null from landed_rejects join landed_facts using (file_index) where {stored}"
    )

    if kind == "episodes":
        select = (
            "child_id, decom_date, upper(rne), upper(ls), upper(cin), upper(place), upper(place_provider), "
            "dec_date, upper(rec), upper(reason_place_change), home_district, pl_district, upper(urn), "
            "pl_la_code, pl_distance, home_status, pl_status, "
            # the placement postcode kept only as a keyed hash, so that rules can tell a move within a district
            "case when pl_text <> '' then substr(sha256(? || '|postcode|' || replace(pl_text, ' ', '')), 1, 16) end"
        )
    elif kind == "header":
        select = "child_id, sex, date_trunc('month', dob_date), upper(ethnic), mother, date_trunc('month', mc_dob_date)"
    elif kind == "uasc":
        select = "child_id, sex, date_trunc('month', dob_date), duc_date"
    else:
        fields = [name for name in index if name not in ("CHILD", "DOB", "UPN")]
        json = "json_object(" + ", ".join(f"{_text(n)}, {n.lower()}" for n in fields) + ")"
        select = f"{_text(kind)}, child_id, date_trunc('month', dob_date), {json}"
    provenance = ("file_la_gss, file_la_dfe, file_year, warning_rules, file_path, file_sha256, src_record, "
                  "file_load_id")
    table = RAW_TABLE.get(kind, "ssda903_other")
    targets = RAW_COLUMNS[table] + ("la_gss_code, la_dfe_code, collection_year, warning_rules, source_file, "
                                    "file_sha256, source_row_number, load_id")
    con.execute(
        f"insert into raw.{table} ({targets}) select {select}, {provenance} from judged "
        f"join landed_facts using (file_index) where rule is null and {stored}",
        [child_id_key()] if kind == "episodes" else [],
    )
    counts = {row[0]: row[1:] for row in con.execute(
        """
        select file_index, sum(n), sum(quarantined), sum(flagged) from (
            select file_index, count(*) as n, count(rule) as quarantined,
                   count(*) filter (where rule is null and warning_rules is not null) as flagged
            from judged group by file_index
            union all
            select file_index, count(*), count(*), 0 from landed_rejects group by file_index
        ) group by file_index
        """
    ).fetchall()}
    for i, item in enumerate(group):
        outcome = item.outcome
        if i in wrong_year:
            outcome.refuse("WRONG_COLLECTION_YEAR", wrong_year[i])
            continue
        n, quarantined, flagged = (int(v) for v in counts.get(i, (0, 0, 0)))
        outcome.rows_read, outcome.rows_quarantined, outcome.rows_loaded = n, quarantined, n - quarantined
        if flagged:
            outcome.notes.append(f"{flagged} row(s) kept with warnings (see warning_rules)")
        if item.truncated:
            outcome.notes.append("the file ends inside its last row: it looks truncated")
        outcome.status = audit.LOADED_WITH_QUARANTINE if outcome.rows_quarantined else audit.LOADED


def _rule_info(con, kind: str, year: int) -> None:
    """Temp table rule_info (code, severity, scope, fields, message) of the rules judged on a table of a year."""
    rows = [(r.code, r.severity, r.scope, r.fields, r.message) for r in rules_of_year(year) if r.applies_to(kind)]
    if kind not in RAW_TABLE:
        rows += [(r.code, r.severity, r.scope, r.fields, r.message) for r in rules_of_year(year)
                 if r.code == "DOB_INVALID"]
    con.execute("create or replace temp table rule_info (code varchar, severity varchar, scope varchar, "
                "fields varchar, message varchar)")
    con.executemany("insert into rule_info values (?, ?, ?, ?, ?)", sorted(set(rows)))


def _record_rule_failures(con, kind: str, year: int, stored: str) -> None:
    """Every rule each judged row broke, and every unreadable line, into audit.ssda903_rule_failures."""
    _rule_info(con, kind, year)
    con.execute(
        f"""
        insert into audit.ssda903_rule_failures
        select file_load_id, file_la_gss, file_year, {_text(DFE_TABLE[kind])}, file_path, file_sha256, src_record,
               child_id, code,
               -- the first of repeated rows is kept: for it a repeat is a warning
               case when failed.rule is null then {_text(WARN)} else rule_info.severity end,
               rule_info.scope, rule_info.fields, rule_info.message
        from (select file_index, src_record, child_id, rule, unnest(failed_rules) as code from judged) as failed
        join landed_facts using (file_index) join rule_info using (code)
        where {stored}
        union all
        select file_load_id, file_la_gss, file_year, {_text(DFE_TABLE[kind])}, file_path, file_sha256, src_record,
               null, 'UNPARSABLE_ROW', rule_info.severity, rule_info.scope, rule_info.fields, error_message
        from landed_rejects join landed_facts using (file_index) join rule_info on rule_info.code = 'UNPARSABLE_ROW'
        where {stored}
        """
    )


def _check_collection_year(con, ret: Return) -> dict[int, str]:
    """Returns filed under the wrong year folder (their dates belong to another collection year): the reason,
    by file_index of the judged files."""
    refused = {}
    for file_index, n, late, latest in con.execute(
        f"""
        select file_index, count(*), count(*) filter (where decom_date > ? or dec_date > ?),
               max(greatest(decom_date, coalesce(dec_date, decom_date)))
        from judged where rule is null or rule in ('354', '385') group by file_index
        """,
        [ret.year_end, ret.year_end],
    ).fetchall():
        if not n or latest is None:
            continue
        likely = latest.year + (1 if latest.month >= 4 else 0)
        if latest < ret.year_start or late > WRONG_YEAR_SHARE * n:
            refused[file_index] = (
                f"filed under {ret.collection_year} (1 April {ret.collection_year - 1} to 31 March "
                f"{ret.collection_year}) but {late} of {n} episodes are dated after that year and the latest date is "
                f"{latest:%d/%m/%Y}: this looks like the {likely} return; move it to the {likely} folder"
            )
    return refused


def _kind_or_none(path: Path) -> str | None:
    try:
        records = head_records(path)
        header = find_header(path, records, _looks_like_header)
        return table_kind(path, [column_name(c) for c in header.cells])
    except (IngestError, OSError, UnicodeError):
        return None


def load_folder(con: duckdb.DuckDBPyConnection, folder: Path, load_id: str) -> list[audit.FileLoad]:
    """Every file under ssda903/<LA>/<YYYY>/; one bad file never stops the others.

    In each return folder the episodes file is read first: if it shows the return belongs to another year,
    every table of that folder is refused with the same reason. Files are landed in batches of one layout
    (_Pending.layout); a file that cannot share a batch is landed alone, in the order the files are read:
    a second episodes file of a return folder (after the first has been judged), and a file with the same
    bytes as one before it (after that one, so it is logged as its duplicate).
    """
    ensure_raw_tables(con)
    listing = inbox.walk(folder)
    folder = listing.folder
    looks = {file.path: file for file in listing.files}
    outcomes: dict[Path, audit.FileLoad] = {}
    changed: list[audit.FileLoad] = []
    kinds: dict[Path, str | None] = {}
    sha256s: dict[Path, str] = {}
    for file in listing.files:
        if not file.is_csv:
            continue
        outcome = audit.FileLoad(load_id=load_id, path=file.path, source=SOURCE)
        if not inbox.still_as_listed(con, file, outcome):  # the second look, before the file is first read
            changed.append(outcome)
            continue
        kinds[file.path] = _kind_or_none(file.path)
        try:
            sha256s[file.path] = sha256_of(file.path)
        except OSError:
            pass  # refused with the reason when the file is prepared
    files = sorted(kinds, key=lambda p: (str(p.parent), kinds[p] != "episodes", p.name))
    logged = audit.logged_sha256s(con, sorted(set(sha256s.values())))
    wrong_year: dict[Path, str] = {}
    seen: set[str] = set()

    def note_wrong_year(path: Path, outcome: audit.FileLoad) -> None:
        if outcome.kind == "episodes" and outcome.error and "[WRONG_COLLECTION_YEAR]" in outcome.error:
            wrong_year.setdefault(path.parent, f"the episodes file {path.name} of this return: "
                                  + outcome.error.split("] ", 1)[1])

    with tempfile.TemporaryDirectory(prefix="ssda903-") as workdir, ExitStack() as stack:
        def prepare(path: Path, batched: bool) -> audit.FileLoad | _Pending:
            item = _prepare(con, path, folder, load_id, Path(workdir), stack, wrong_year, sha256s.get(path),
                            logged if batched else None)
            outcomes[path] = item.outcome if isinstance(item, _Pending) else item
            return item

        episodes_first = [p for p in files if kinds[p] == "episodes"]
        for phase in (episodes_first, [p for p in files if kinds[p] != "episodes"]):
            batch, alone, folders = [], [], set()
            for path in phase:
                sha = sha256s.get(path)
                first_of_return = phase is not episodes_first or path.parent not in folders
                (batch if sha and sha not in seen and first_of_return else alone).append(path)
                seen.add(sha)
                folders.add(path.parent)
            pending = [item for item in (prepare(p, True) for p in batch) if isinstance(item, _Pending)]
            _land_all(con, [item for item in pending
                            if inbox.still_as_listed(con, looks[item.outcome.path], item.outcome)])
            for path in batch:
                note_wrong_year(path, outcomes[path])
            for path in alone:
                item = prepare(path, False)
                if isinstance(item, _Pending) and inbox.still_as_listed(con, looks[path], item.outcome):
                    _land_all(con, [item])
                note_wrong_year(path, outcomes[path])
    result = [outcomes[p] for p in files] + changed
    for file in listing.files:
        if not file.is_csv:
            refused = inbox.refuse_if_not_csv(con, file, SOURCE, load_id)
            if refused is not None:
                result.append(refused)
    return result + inbox.record_skipped(con, listing, SOURCE, load_id)


# What return rules read: a return's stored rows, from the files staging would read (audit.included_files).
RETURN_VIEWS = {
    "episodes": "raw.ssda903_episodes",
    "header": "raw.ssda903_header",
    "uasc": "raw.ssda903_uasc",
    "other": "raw.ssda903_other",
}
REGISTER = "intermediate.int_provider_register_periods"


REGISTER_COLUMNS = ("urn varchar, snapshot_date date, provision_type varchar, sector varchar, la_gss_code varchar, "
                    "postcode_district varchar, in_force_from date, in_force_until date, closed_date date")


def _return_views(con: duckdb.DuckDBPyConnection) -> bool:
    """The temp views return rules read (conditions.yml); true when a register has been built."""
    for name, table in RETURN_VIEWS.items():
        con.execute(
            f"create or replace temp view {name} as select * from {table} "
            "where file_sha256 in (select file_sha256 from audit.included_files)"
        )
    # Each child's episodes of a return in order, with the neighbours the sequence rules compare.
    con.execute(
        """
        create or replace temp table episode_sequence as
        select *,
               lag(dec) over w as prev_dec, lag(rec) over w as prev_rec, lag(ls) over w as prev_ls,
               lag(place) over w as prev_place, lag(place_provider) over w as prev_place_provider,
               lag(urn) over w as prev_urn, lag(placement_postcode_key) over w as prev_placement_postcode_key,
               lead(decom) over w as next_decom,
               row_number() over w as episode_number,
               count(*) over (partition by la_gss_code, collection_year, child_id) as child_episodes
        from episodes
        window w as (partition by la_gss_code, collection_year, child_id order by decom, dec, source_row_number)
        """
    )
    has_register = con.execute(
        "select count(*) from duckdb_tables() where schema_name || '.' || table_name = ?", [REGISTER]).fetchone()[0] > 0
    names = [c.split()[0] for c in REGISTER_COLUMNS.split(", ")]
    empty = ", ".join(f"null::{c.split()[1]} as {c.split()[0]}" for c in REGISTER_COLUMNS.split(", "))
    con.execute("create or replace temp view register as "
                + (f"select {', '.join(names)} from {REGISTER}" if has_register
                   else f"select * from (select {empty}) where false"))
    # The register entry of each episode's URN as of its start: the snapshot in force that day, else the nearest.
    con.execute(
        """
        create or replace temp table episode_register as
        select episodes.*, register.snapshot_date, register.provision_type, register.sector,
               register.la_gss_code as register_la_gss_code, register.postcode_district as register_postcode_district,
               register.closed_date
        from episodes join register on upper(episodes.urn) = upper(register.urn)
        where episodes.urn <> 'XXXXXXX'
        qualify row_number() over (
            partition by episodes.source_file, episodes.source_row_number
            order by case when episodes.decom >= register.in_force_from and episodes.decom < register.in_force_until
                          then 0 else 1 end,
                     abs(date_diff('day', register.snapshot_date, episodes.decom)), register.snapshot_date desc) = 1
        """
    )
    spec = yaml.safe_load(Path(__file__).with_name("ssda903_tables.yml").read_text())
    for table, key, value in (("register_places", "provision_type", "place"),
                              ("register_providers", "sector", "place_provider")):
        con.execute(f"create or replace temp table {table} ({key} varchar, {value} varchar)")
        con.executemany(f"insert into {table} values (?, ?)",
                        [(k, v) for k, values in spec[table].items() for v in values])
    return has_register and con.execute("select count(*) from register").fetchone()[0] > 0


class ReturnRulesFailed(RuntimeError):
    """Some return rules could not be judged (their SQL failed); the others were recorded."""

    def __init__(self, recorded: int, broken: list[str]):
        super().__init__(f"{len(broken)} return rule(s) could not be judged: " + "; ".join(broken))
        self.recorded, self.broken = recorded, broken


def judge_returns(con: duckdb.DuckDBPyConnection, load_id: str) -> int:
    """Run every return rule over every stored return, replacing the return rules' earlier failures. The rules
    against the Ofsted register run only once a register has been built and loaded. Returns the failures found."""
    ensure_raw_tables(con)
    with_register = _return_views(con)
    years = [row[0] for row in con.execute(
        "select distinct collection_year from episodes union select distinct collection_year from header "
        "union select distinct collection_year from uasc union select distinct collection_year from other order by 1"
    ).fetchall()]
    # A rule whose SQL is the same in several years is judged once over all of them.
    judged: dict[tuple[str, str, str, str, str], list[int]] = {}
    for year in years:
        for rule in (r for r in rules_of_year(year) if r.scope == "return"):
            if "register" not in rule.condition or with_register:
                judged.setdefault((rule.code, rule.table, rule.condition, rule.fields, rule.message), []).append(year)
    # Each rule into a temp table first: a rule that fails on some return's data is reported and skipped, and the
    # others still replace the report in one transaction.
    con.execute("create or replace temp table return_failures as select * from audit.ssda903_rule_failures limit 0")
    broken = []
    for (code, table_name, condition, fields, message), rule_years in judged.items():
        table = {"Episodes": "episodes", "Header": "header", "UASC": "uasc"}.get(table_name, "other")
        try:
            con.execute(
                f"""
                insert into return_failures
                select ?, rows.la_gss_code, rows.collection_year, ?, rows.source_file, rows.file_sha256,
                       rows.source_row_number, rows.child_id, ?, 'warn', 'return', ?, ?
                from {table} as rows
                where list_contains(?, rows.collection_year)
                  and (rows.source_file, rows.source_row_number) in (
                      select (source_file, source_row_number) from ({condition}) as failed)
                """,
                [load_id, table_name, code, fields, message, rule_years],
            )
        except duckdb.Error as error:
            broken.append(f"{code}: {type(error).__name__}: {error}")
    con.execute("begin transaction")
    try:
        con.execute("delete from audit.ssda903_rule_failures where scope = 'return'")
        con.execute("insert into audit.ssda903_rule_failures select * from return_failures")
        failures = con.execute("select count(*) from return_failures").fetchone()[0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    if broken:
        raise ReturnRulesFailed(failures, broken)
    return failures


def export_rule_failures(con: duckdb.DuckDBPyConnection, la_gss_code: str, out_dir: Path) -> tuple[Path, int]:
    """One LA's error report as CSV, every failure of the latest version of each of its SSDA903 files (held back
    or not), ordered as an LA reads its upload: year, table, file, row. Child ids are the warehouse's hashes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"ssda903_rule_failures_{la_gss_code}.csv"
    query = f"""
        select f.collection_year, f.table_name, regexp_extract(f.source_file, '[^/\\\\]+$') as file_name,
               f.source_row_number as row_number, f.child_id as child_hash, f.rule_code, f.severity, f.message,
               f.fields, f.source_file
        from audit.ssda903_rule_failures as f
        where f.la_gss_code = {_text(la_gss_code)}
          and f.file_sha256 in (
              select file_sha256 from audit.return_files where source = {_text(SOURCE)}
              qualify row_number() over (partition by path order by loaded_at desc) = 1)
        order by f.collection_year, f.table_name, f.source_file, f.source_row_number, f.rule_code
    """
    con.sql(query).write_csv(str(target), header=True, sep=",")  # a path is never pasted into SQL
    return target, con.execute(f"select count(*) from ({query})").fetchone()[0]


def rules_markdown() -> str:
    """The README's table of every rule, per year's rule table, with its severity (tests keep the two equal)."""
    years = sorted(int(p.stem.split("_")[1]) for p in RULES_DIR.glob("rules_*.csv"))
    labels = [f"{'to ' if i == 0 else ''}{y - 1}-{str(y)[2:]}{' on' if i == len(years) - 1 else ''}"
              for i, y in enumerate(years)]
    by_rule: dict[tuple[str, str, str], dict[int, Rule]] = {}
    for year in years:
        for rule in rules_of_year(year):
            by_rule.setdefault((rule.code, rule.table, rule.scope), {})[year] = rule
    scope_order = {"file": 0, "row": 1, "return": 2}
    lines = ["| rule | table | judged | " + " | ".join(labels) + " | message |",
             "|---|---|---|" + "---|" * len(years) + "---|"]
    for (code, table, scope), per_year in sorted(by_rule.items(), key=lambda kv: (scope_order[kv[0][2]], kv[0])):
        message = next(iter(per_year.values())).message.replace("|", "/")
        severities = [per_year[y].severity if y in per_year else "-" for y in years]
        lines.append(f"| {code} | {table} | {scope} | " + " | ".join(severities) + f" | {message} |")
    return "\n".join(lines)

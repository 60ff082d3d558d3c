"""Placement-cost extracts (`inbox/placement_costs/<LA>/*.csv`) -> raw.placement_costs.

One row per placement (and financial year): placing LA, provider, establishment/URN, placement type, how it was
sourced, start and end, the total weekly cost and its social care / education / health contributions, crisis
flag. Columns are recognised through placement_costs_columns.yml, placement-type labels through the seed
dbt_project/seeds/placement_costs/placement_cost_types.csv. The financial year of an extract comes from its file
name or title ('2023-24', or a year alone = the year ending 31 March), or from a financial-year column.

The placement reference is treated as identifying: it is stored only as a keyed hash (the same key as SSDA903
CHILD, WAREHOUSE_CHILD_ID_KEY). Rows are judged in SQL: a row breaking a rule is quarantined with the rule code
(`rules` below), a row with a warning is kept with the code in `warning_rules`. Amounts and dates are parsed by the
DuckDB macros shared with spend (ingest/spend_macros.sql: parse_weekly_money, parse_spend_date).
See docs/placement_costs.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from ingest import audit, inbox
from ingest.csv_files import (
    OVERFLOW_COLUMNS,
    HeaderMatch,
    find_header,
    head_records,
    land_and_log,
    normalise_header,
    readable_copy,
    sha256_of,
)
from ingest.errors import IngestError
from ingest.local_authorities import SEEDS_DIR, resolve_la
from ingest.ofsted import year_ending_named
from ingest.spend_sql import install_macros
from ingest.ssda903 import child_id_key

SOURCE = "placement_costs"
KIND = "placement_costs"
TYPES_SEED = SEEDS_DIR / "placement_costs" / "placement_cost_types.csv"
# Day-first and ISO dates, with or without a time; a year before 1990 is a mistyped date (DuckDB reads '23' as 0023).
URN_PATTERN = r"^(SC[0-9]{6}|[0-9]{6,7})$"
PLACEMENT_KEY_PATTERN = r"^[0-9a-f]{32}$"

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.placement_costs (
    placement_key varchar not null, financial_year varchar not null, placing_authority varchar,
    provider varchar, establishment varchar, urn varchar, placement_type_label varchar not null,
    placement_type varchar not null, commissioning_route_label varchar, commissioning_route varchar,
    start_date date not null, end_date date, weekly_cost decimal(18, 2) not null,
    social_care_contribution decimal(18, 2) not null, education_contribution decimal(18, 2) not null,
    health_contribution decimal(18, 2) not null, is_crisis boolean not null,
    la_gss_code varchar not null, la_dfe_code varchar, extract_financial_year varchar not null,
    warning_rules varchar, source_file varchar not null, file_sha256 varchar not null,
    source_row_number bigint not null, load_id varchar not null
);
"""


# ------------------------------------------------------------------------------------------ parsing (SQL)
def financial_year_sql(expr: str) -> str:
    """'2023-24', '2023/24', '2023-2024', '2023 to 2024' or '2024' (year ending 31 March) -> year ending March."""
    text = f"lower(trim({expr}))"
    pair = r"'^(20[0-9]{2})\s*(?:-|/|_|to)\s*(?:20)?([0-9]{2})$'"
    return (f"case when regexp_matches({text}, {pair}) "
            f"and (cast(regexp_extract({text}, {pair}, 1) as integer) + 1) % 100 "
            f"= cast(regexp_extract({text}, {pair}, 2) as integer) "
            f"then cast(regexp_extract({text}, {pair}, 1) as integer) + 1 "
            f"when regexp_full_match({text}, '20[0-9]{{2}}') then cast({text} as integer) end")


def fy_label(fy_end: int) -> str:
    return f"{fy_end - 1}-{fy_end % 100:02d}"


# ------------------------------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class Spec:
    patterns: dict[str, list[re.Pattern]]
    required: tuple[str, ...]
    routes: dict[str, list[str]]
    crisis_values: dict[bool, list[str]]


@lru_cache(maxsize=1)
def spec() -> Spec:
    config = yaml.safe_load(Path(__file__).with_name("placement_costs_columns.yml").read_text())
    patterns = {name: [re.compile(p) for p in synonyms] for name, synonyms in config["columns"].items()}
    crisis = {value == "true": [str(v) for v in values] for value, values in config["crisis_values"].items()}
    return Spec(patterns, tuple(config["required"]), config["commissioning_routes"], crisis)


@lru_cache(maxsize=1)
def placement_types() -> dict[str, str]:
    """Normalised label -> canonical placement type, from the seed."""
    mapping: dict[str, str] = {}
    with open(TYPES_SEED, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = normalise_header(row["label"])
            if mapping.get(key, row["placement_type"]) != row["placement_type"]:
                raise ValueError(f"{TYPES_SEED}: label '{row['label']}' is mapped to two placement types")
            mapping[key] = row["placement_type"]
    return mapping


def canonical_name(cell: str) -> str | None:
    text = normalise_header(cell)
    for name, patterns in spec().patterns.items():
        if any(pattern.fullmatch(text) for pattern in patterns):
            return name
    return None


def _looks_like_header(normalised_cells: list[str]) -> bool:
    names = {canonical_name(cell) for cell in normalised_cells if cell}
    return {"placement_ref", "weekly_cost"} <= names and len(names & {"start_date", "placement_type", "provider",
                                                                     "social_care_contribution"}) >= 2


def map_columns(header: HeaderMatch) -> tuple[dict[str, int], list[str]]:
    mapping: dict[str, int] = {}
    unmapped: list[str] = []
    for index, cell in enumerate(header.cells):
        name = canonical_name(cell)
        if name is None or name in mapping:
            if cell.strip():
                unmapped.append(" ".join(cell.split()))
            continue
        mapping[name] = index
    return mapping, unmapped


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    audit.ensure_audit_schema(con)
    con.execute(RAW_DDL)


# ------------------------------------------------------------------------------------------ where a file sits
@dataclass(frozen=True)
class Extract:
    la_text: str
    identity_gss_code: str  # today's authority: placement keys stay stable across a reorganisation
    financial_year_end: int | None  # from the file name or title; None when the rows carry it


def extract_of(path: Path, inbox_folder: Path, preamble: list[list[str]] | None = None) -> Extract:
    parts = path.relative_to(inbox_folder).parts
    if len(parts) < 2:
        raise IngestError(path, "WRONG_FOLDER",
                          "placement-cost extracts go in placement_costs/<LA>/ (LA name, GSS or DfE code)")
    la_text = parts[0]
    current = resolve_la(la_text)
    if current is None:
        raise IngestError(path, "UNKNOWN_LA",
                          f"folder '{la_text}' names no English local authority (use its name, GSS or DfE code)")
    title = " ".join(cell for record in (preamble or []) for cell in record if cell)
    year = year_ending_named(" ".join(parts[1:-1] + (path.stem.replace(".", " "),))) or year_ending_named(title)
    return Extract(la_text, current.gss_code, year)


# ------------------------------------------------------------------------------------------ rules
@dataclass(frozen=True)
class Rule:
    code: str
    condition: str  # SQL over the `cells` CTE: true when the row breaks the rule
    message: str


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(values) -> str:
    return "(" + ", ".join(_text(v) for v in values) + ")"


def _norm(expr: str) -> str:
    """The SQL twin of normalise_header: lower-case words, '&' as 'and'."""
    return f"trim(regexp_replace(replace(lower({expr}), '&', ' and '), '[^a-z0-9]+', ' ', 'g'))"


AMOUNTS = ("weekly_cost", "social_care_contribution", "education_contribution", "health_contribution")


def rules(n_columns: int, truncated: bool, has_crisis: bool, has_fy: bool) -> tuple[list[Rule], list[Rule]]:
    """(errors, warnings): an error quarantines the row (the first it breaks names it), a warning flags it."""
    cells = [f"c{i}" for i in range(n_columns)]
    overflow = [f"c{i}" for i in range(n_columns, n_columns + OVERFLOW_COLUMNS)]
    contributions = "coalesce(social_care_contribution_amount, 0) + coalesce(education_contribution_amount, 0) " \
                    "+ coalesce(health_contribution_amount, 0)"
    errors = [
        Rule("BLANK_ROW", " and ".join(f"nullif(trim({c}), '') is null" for c in cells + overflow),
             "every field is empty"),
        Rule("EXTRA_FIELDS", " or ".join(f"{c} is not null" for c in overflow),
             f"the row has more fields than the header's {n_columns}"),
    ]
    if truncated:
        errors.append(Rule("TRUNCATED_ROW", "src_record = (select max(src_record) from landed)",
                           "the file ends inside this row: it was cut off"))
    errors += [
        Rule("REF_MISSING", "placement_ref is null", "the placement reference is blank"),
    ]
    if has_fy:
        errors.append(Rule("FINANCIAL_YEAR_INVALID", "fy_end is null",
                           "the financial year is blank or not a year such as 2023-24"))
    errors += [
        Rule("COST_MISSING", "weekly_cost is null", "the total weekly cost is blank"),
        Rule("COST_NOT_NUMERIC", "weekly_cost_amount is null",
             "the total weekly cost is not an amount in pounds and pence (e.g. 4950.00 or £4,950.00)"),
        Rule("CONTRIBUTION_NOT_NUMERIC",
             " or ".join(f"({a} is not null and {a}_amount is null)" for a in AMOUNTS[1:]),
             "a social care, education or health contribution is not an amount in pounds and pence"),
        Rule("COST_NEGATIVE", " or ".join(f"{a}_amount < 0" for a in AMOUNTS),
             "the weekly cost or a contribution is negative"),
        Rule("CONTRIBUTIONS_MISMATCH", f"{contributions} <> weekly_cost_amount",
             "the social care, education and health contributions do not add up to the total weekly cost "
             "(to the penny; a blank contribution counts as 0)"),
        Rule("START_DATE_INVALID", "start_date_value is null", "the start date is blank or not a valid date"),
        Rule("END_DATE_INVALID", "end_date is not null and end_date_value is null",
             "the end date is not a valid date"),
        Rule("END_BEFORE_START", "end_date_value < start_date_value", "the end date is before the start date"),
        Rule("NOT_IN_FINANCIAL_YEAR",
             "start_date_value >= make_date(fy_end, 4, 1) or end_date_value <= make_date(fy_end - 1, 4, 1)",
             "the placement was not open in the extract's financial year (it starts after the year or ended "
             "before it): wrong file or wrong dates"),
        Rule("UNKNOWN_PLACEMENT_TYPE", "type_code is null",
             "the placement type is blank or not a known label: add it to "
             "dbt_project/seeds/placement_costs/placement_cost_types.csv"),
        Rule("PLACING_LA_MISMATCH", "placing_gss is not null and placing_gss not in (la_identity, la_gss_code)",
             "the placing authority is another LA than the folder's: this extract's rows belong to the folder's LA"),
    ]
    if has_crisis:
        errors.append(Rule("CRISIS_FLAG_INVALID", "crisis is not null and crisis_value is null",
                           "the crisis flag is not yes/no (Y, N, Yes, No, True, False, 1, 0)"))
    warnings = [
        Rule("URN_FORMAT", f"urn is not null and not regexp_full_match(upper(urn), '{URN_PATTERN[1:-1]}')",
             "URN is not SC followed by 6 digits or a 6-7 digit number"),
        Rule("ROUTE_UNKNOWN", "commissioning_route is not null and route_code = 'other'",
             "the commissioning route is not a known framework / block / spot label (kept as 'other')"),
        Rule("PLACING_LA_UNKNOWN", "placing_authority is not null and placing_gss is null",
             "the placing authority names no known LA (the folder's LA is used)"),
        Rule("PROVIDER_MISSING", "provider is null", "the provider is blank"),
    ]
    return errors, warnings


DUPLICATE = Rule("DUPLICATE_PLACEMENT", "",
                 "the same placement reference and financial year appear on an earlier row of this file")


# ------------------------------------------------------------------------------------------ loading
def load_file(con: duckdb.DuckDBPyConnection, file: inbox.InboxFile, inbox_folder: Path, load_id: str,
              workdir: Path) -> audit.FileLoad:
    """Land one extract. Raises nothing for bad input: the outcome is in the returned (and logged) FileLoad."""
    path = file.path
    outcome = audit.FileLoad(load_id=load_id, path=path, source=SOURCE)
    try:
        file.check()
        outcome.sha256 = sha256_of(path)
        if audit.already_loaded(con, outcome):
            return outcome
        extract_of(path, inbox_folder)  # an unknown LA folder fails before the file is read
        with readable_copy(path, outcome, workdir) as readable:
            _land(con, path, readable, inbox_folder, outcome)
    except IngestError as error:
        outcome.fail(con, error.rule, error.message)
    except (duckdb.Error, OSError, UnicodeError) as error:
        outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")
    return outcome


def _land(con, path: Path, readable: Path, inbox_folder: Path, outcome: audit.FileLoad) -> None:
    try:
        header = find_header(path, head_records(readable), _looks_like_header)
    except IngestError as error:
        if error.rule != "HEADER_NOT_FOUND":
            raise
        raise IngestError(path, "UNKNOWN_KIND", "not a placement-cost extract: no header row with a placement "
                          f"reference and a weekly cost ({error.message.split('(', 1)[-1].rstrip(')')})") from error
    mapping, unmapped = map_columns(header)
    missing = [name for name in spec().required if name not in mapping]
    if missing:
        raise IngestError(path, "MISSING_COLUMN",
                          f"a placement-cost extract needs column(s) {', '.join(missing)}; header has: "
                          + ", ".join(" ".join(cell.split()) for cell in header.cells if cell.strip())
                          + " (add the LA's name for a column to ingest/placement_costs_columns.yml)")
    extract = extract_of(path, inbox_folder, header.preamble)
    if extract.financial_year_end is None and "financial_year" not in mapping:
        raise IngestError(path, "FINANCIAL_YEAR_UNKNOWN",
                          "cannot tell the financial year: put it in the file name (e.g. placement_costs_2023-24.csv) "
                          "or add a Financial Year column")
    outcome.kind = KIND
    outcome.header_record = header.index + 1
    as_of = dt.date(extract.financial_year_end, 3, 31) if extract.financial_year_end else None
    outcome.reference_date = as_of
    outcome.la = (resolve_la(extract.la_text, as_of=as_of) or resolve_la(extract.la_text)).gss_code
    if unmapped:
        outcome.notes.append("columns not used: " + ", ".join(unmapped))
    if "crisis" not in mapping:
        outcome.notes.append("no crisis column: no placement is taken as a crisis placement")
    land_and_log(con, path, readable, outcome, header,
                 lambda truncated: _judge_and_store(con, path, extract, outcome, header, mapping, truncated),
                 keep_rejected_line=False)  # the unparsable line holds the raw placement reference


def _placing_authorities(con, column: int | None) -> None:
    """Temp table placing_las(text, gss): each distinct placing-authority text of the file resolved once."""
    values = [] if column is None else [
        row[0] for row in con.execute(f"select distinct trim(c{column}) from landed where nullif(trim(c{column}), '') "
                                      "is not null").fetchall()]
    authorities = {text: resolve_la(text) for text in values}
    resolved = [(text, la.gss_code if la else None) for text, la in authorities.items()]
    con.execute("create or replace temp table placing_las (text varchar, gss varchar)")
    if resolved:
        con.executemany("insert into placing_las values (?, ?)", resolved)


def _authorities_by_year(con, la_text: str) -> None:
    """Temp table fy_las(fy_end, gss, dfe): the folder's LA as it was in each financial year of the file."""
    years = [row[0] for row in con.execute("select distinct fy_end from parsed where fy_end is not null").fetchall()]
    rows = []
    for year in years:
        la = resolve_la(la_text, as_of=dt.date(year, 3, 31)) or resolve_la(la_text)
        rows.append((year, la.gss_code, la.dfe_code))
    con.execute("create or replace temp table fy_las (fy_end integer, gss varchar, dfe varchar)")
    if rows:
        con.executemany("insert into fy_las values (?, ?, ?)", rows)


def _judge_and_store(con, path: Path, extract: Extract, outcome: audit.FileLoad, header: HeaderMatch,
                     mapping: dict[str, int], truncated: bool) -> None:
    n_columns = len(header.cells)
    names = list(spec().patterns)
    cells = ", ".join(
        f"nullif(trim(c{mapping[name]}), '') as {name}" if name in mapping else f"null::varchar as {name}"
        for name in names
    )
    types = placement_types()
    type_case = ("case " + " ".join(f"when {_norm('placement_type')} = {_text(k)} then {_text(v)}"
                                    for k, v in types.items()) + " end")
    route_case = ("case when commissioning_route is null then null " + " ".join(
        f"when regexp_full_match({_norm('commissioning_route')}, {_text('|'.join(f'(?:{p})' for p in patterns))}) "
        f"then {_text(route)}" for route, patterns in spec().routes.items()) + " else 'other' end")
    crisis_case = ("case when crisis is null then false " + " ".join(
        f"when {_norm('crisis')} in {_in_list(values)} then {str(flag).lower()}"
        for flag, values in spec().crisis_values.items()) + " end")
    file_fy = "null::integer" if extract.financial_year_end is None else str(int(extract.financial_year_end))
    fy_expr = f"coalesce({financial_year_sql('financial_year')}, {file_fy})" if "financial_year" in mapping else file_fy
    _placing_authorities(con, mapping.get("placing_authority"))
    errors, warnings = rules(n_columns, truncated, "crisis" in mapping, "financial_year" in mapping)
    rule_case = "case " + " ".join(f"when {r.condition} then {_text(r.code)}" for r in errors) + " end"
    warning_list = "nullif(concat_ws(',', " + ", ".join(
        f"case when {r.condition} then {_text(r.code)} end" for r in warnings) + "), '')"
    amounts = ", ".join(f"parse_weekly_money({a}) as {a}_amount" for a in AMOUNTS)
    con.execute(
        f"""
        create or replace temp table parsed as
        with named as (select *, {cells} from landed)
        select named.*, {amounts},
               parse_spend_date(start_date) as start_date_value, parse_spend_date(end_date) as end_date_value,
               {fy_expr} as fy_end, {type_case} as type_code, {route_case} as route_code,
               {crisis_case} as crisis_value
        from named
        """
    )
    _authorities_by_year(con, extract.la_text)
    con.execute(
        f"""
        create or replace temp table judged as
        with cells as (
            select parsed.*, placing_las.gss as placing_gss, fy_las.gss as la_gss_code, fy_las.dfe as la_dfe_code,
                   ? as la_identity
            from parsed
            left join placing_las on placing_las.text = parsed.placing_authority
            left join fy_las on fy_las.fy_end = parsed.fy_end
        )
        select *, {rule_case} as rule, {warning_list} as warning_rules,
               case when placement_ref is not null
                    then substr(sha256(? || '|' || ? || '|' || placement_ref), 1, 32) end as placement_key
        from cells
        """,
        [extract.identity_gss_code, child_id_key(), extract.identity_gss_code],
    )
    con.execute("drop table parsed")
    # A repeat is only a duplicate of a row that is itself kept, so it is judged among the survivors.
    con.execute(
        f"""
        update judged set rule = {_text(DUPLICATE.code)}
        where src_record in (
            select src_record from (
                select src_record, row_number() over (partition by placement_key, fy_end order by src_record) as n
                from judged where rule is null
            ) where n > 1
        )
        """
    )
    messages = [(r.code, r.message) for r in errors] + [(DUPLICATE.code, DUPLICATE.message)]
    message_case = "case rule " + " ".join(f"when {_text(c)} then {_text(m)}" for c, m in messages) + " end"
    # The quarantined row's values as the file had them, except the placement reference (its hash instead).
    labels = {index: " ".join(cell.split()) or f"column_{index + 1}" for index, cell in enumerate(header.cells)}
    ref_column = mapping["placement_ref"]
    raw_json = "json_object(" + ", ".join(
        f"{_text(label)}, {'placement_key' if index == ref_column else f'c{index}'}"
        for index, label in labels.items()) + ")"
    con.execute(
        f"insert into audit.quarantine select ?, ?, ?, src_record, rule, {message_case}, {raw_json} "
        "from judged where rule is not null",
        [outcome.load_id, str(path), outcome.sha256],
    )
    extract_fy = ("(select max(fy_end) from judged where rule is null)" if extract.financial_year_end is None
                  else str(int(extract.financial_year_end)))
    con.execute(
        f"""
        insert into raw.placement_costs
        select placement_key, cast(fy_end - 1 as varchar) || '-' || lpad(cast(fy_end % 100 as varchar), 2, '0'),
               placing_authority, provider, establishment, upper(urn), placement_type, type_code,
               commissioning_route, route_code, start_date_value, end_date_value, weekly_cost_amount,
               coalesce(social_care_contribution_amount, 0), coalesce(education_contribution_amount, 0),
               coalesce(health_contribution_amount, 0), crisis_value, la_gss_code, la_dfe_code,
               cast({extract_fy} - 1 as varchar) || '-' || lpad(cast({extract_fy} % 100 as varchar), 2, '0'),
               warning_rules, ?, ?, src_record, ?
        from judged
        where rule is null order by src_record
        """,
        [str(path), outcome.sha256, outcome.load_id],
    )
    counts = con.execute("select count(*), count(*) filter (where rule is not null) from judged").fetchone()
    outcome.rows_read, outcome.rows_quarantined = counts
    outcome.rows_loaded = counts[0] - counts[1]
    flagged = con.execute("select count(*) from judged where rule is null and warning_rules is not null").fetchone()[0]
    if flagged:
        outcome.notes.append(f"{flagged} row(s) kept with warnings (see warning_rules)")
    con.execute("drop table judged")


def load_folder(con: duckdb.DuckDBPyConnection, folder: Path, load_id: str) -> list[audit.FileLoad]:
    """Every file under placement_costs/<LA>/, in path order; one bad file never stops the others."""
    ensure_raw_tables(con)
    install_macros(con)
    listing = inbox.walk(folder)
    with tempfile.TemporaryDirectory(prefix="placement-costs-") as workdir:
        outcomes = [load_file(con, file, listing.folder, load_id, Path(workdir))
                    for file in listing.files if file.is_csv]
    for file in listing.files:
        if not file.is_csv:
            outcomes.append(inbox.refuse_if_not_csv(con, file, SOURCE, load_id))
    return [o for o in outcomes if o is not None] + inbox.record_skipped(con, listing, SOURCE, load_id)

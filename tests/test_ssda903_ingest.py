"""SSDA903 ingest: the shared fake sets load row by row, bad input is refused clearly, privacy holds at the door.

Expected counts are taken from the fixture CSVs with the csv module (tests/fixtures/ssda903 holds the shared
d2i and LIIA 2025 fake sets), never from the ingest code.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from ingest import ssda903

FIXTURES = Path(__file__).parent / "fixtures" / "ssda903"
D2I = FIXTURES / "d2i-fake"
LIIA = FIXTURES / "liia-2025-samples"


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def load(inbox: Path, db: Path | None = None) -> tuple[duckdb.DuckDBPyConnection, list]:
    con = duckdb.connect(str(db) if db else ":memory:")
    outcomes = ssda903.load_folder(con, inbox / "ssda903", "test-load")
    return con, outcomes


def expected_hash(raw_child: str, gss: str, key: str = ssda903.DEMO_CHILD_ID_KEY) -> str:
    return hashlib.sha256(f"{key}|{gss}|{raw_child.strip()}".encode()).hexdigest()[:32]


def log(con) -> dict[str, dict]:
    rows = con.execute(
        "select path, kind, la, rows_read, rows_loaded, rows_quarantined, status, error from audit.load_log"
    ).fetchall()
    keys = ("kind", "la", "rows_read", "rows_loaded", "rows_quarantined", "status", "error")
    return {Path(r[0]).name if "/2099/" not in r[0] else r[0]: dict(zip(keys, r[1:])) for r in rows}


@pytest.fixture(scope="module")
def shared_sets(tmp_path_factory):
    """The two shared fake sets as two LAs' returns: d2i as Wakefield 2018, LIIA samples as Calderdale 2025."""
    inbox = tmp_path_factory.mktemp("ssda903-shared")
    shutil.copytree(D2I, inbox / "ssda903" / "Wakefield" / "2018")
    shutil.copytree(LIIA, inbox / "ssda903" / "381" / "2025")
    con, outcomes = load(inbox)
    yield inbox, con, outcomes
    con.close()


def test_every_shared_file_reconciles_row_by_row(shared_sets):
    inbox, con, _ = shared_sets
    entries = log(con)
    for path in sorted((inbox / "ssda903").rglob("*.csv")):
        entry = entries[path.name]
        if path.name == "postcodes_short.csv":
            continue  # a postcode lookup shipped with the fake set, not an SSDA903 table (next test)
        _, rows = read_rows(path)
        assert entry["status"] in ("loaded", "loaded_with_quarantine"), (path.name, entry)
        assert entry["rows_read"] == len(rows), path.name
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"], path.name
        quarantined = con.execute(
            "select count(*) from audit.quarantine where path = ?", [str(path.resolve())]
        ).fetchone()[0]
        assert quarantined == entry["rows_quarantined"], path.name


def test_a_file_of_another_kind_is_named_and_refused(shared_sets):
    _, con, _ = shared_sets
    entry = log(con)["postcodes_short.csv"]
    assert entry["status"] == "failed"
    assert entry["error"].startswith("[UNKNOWN_KIND]") and "CHILD" in entry["error"]


def test_tables_are_recognised_by_their_columns(shared_sets):
    _, con, _ = shared_sets
    entries = log(con)
    assert entries["SSDA903_2025_episodes.csv"]["kind"] == "episodes"
    assert entries["SSDA903_2025_header.csv"]["kind"] == "header"
    for name in ("reviews", "missing", "oc2", "oc3", "ad1", "placed_for_adoption", "previous_permanence"):
        assert entries[f"{name}.csv"]["kind"] == name
        _, rows = read_rows(D2I / f"{name}.csv")
        assert con.execute("select count(*) from raw.ssda903_other where table_name = ?", [name]).fetchone()[0] \
            == len(rows)


def test_la_folder_by_name_or_dfe_code(shared_sets):
    _, con, _ = shared_sets
    entries = log(con)
    assert entries["episodes.csv"]["la"] == "E08000036"  # Wakefield
    assert entries["SSDA903_2025_episodes.csv"]["la"] == "E08000033"  # DfE 381 = Calderdale


def test_liia_rows_with_blank_dates_and_codes_are_quarantined_with_their_rule(shared_sets):
    _, con, _ = shared_sets
    _, rows = read_rows(LIIA / "SSDA903_2025_episodes.csv")
    blank_decom = {i + 2 for i, r in enumerate(rows) if not r["DECOM"].strip()}
    blank_place = {i + 2 for i, r in enumerate(rows) if r["DECOM"].strip() and not r["PLACE"].strip()}
    assert blank_decom and blank_place
    got = dict(con.execute(
        "select row_number, rule from audit.quarantine where path like '%SSDA903_2025_episodes.csv'"
    ).fetchall())
    assert {n for n, rule in got.items() if rule == "DECOM_MISSING"} == blank_decom
    assert blank_place <= {n for n, rule in got.items() if rule in ("PLACE_MISSING", "CHILD_MISSING")}


def test_child_ids_are_hashed_with_the_la_in_the_key(shared_sets):
    _, con, _ = shared_sets
    _, rows = read_rows(LIIA / "SSDA903_2025_episodes.csv")
    raw_ids = {r["CHILD"].strip() for r in rows if r["CHILD"].strip()}
    stored = {r[0] for r in con.execute(
        "select child_id from raw.ssda903_episodes where la_gss_code = 'E08000033'").fetchall()}
    assert not (raw_ids & stored)
    assert stored <= {expected_hash(c, "E08000033") for c in raw_ids}
    assert all(re.fullmatch(r"[0-9a-f]{32}", c) for c in stored)


def test_dates_of_birth_keep_only_their_month_and_postcodes_their_district(shared_sets):
    _, con, _ = shared_sets
    days = con.execute("select count(*) from raw.ssda903_header where day(dob_month) <> 1").fetchone()[0]
    assert days == 0
    _, rows = read_rows(LIIA / "SSDA903_2025_episodes.csv")
    districts = {r["HOME_POST"].split()[0].upper() for r in rows if r["HOME_POST"].strip()}
    stored = {r[0] for r in con.execute(
        "select distinct home_postcode_district from raw.ssda903_episodes where la_gss_code = 'E08000033' "
        "and home_postcode_district is not null").fetchall()}
    assert stored and stored <= districts
    assert not any(" " in d for d in stored)
    assert "upn" not in {c[0] for c in con.execute("describe raw.ssda903_header").fetchall()}


def test_same_raw_id_in_two_las_is_two_children(tmp_path):
    header, rows = read_rows(LIIA / "SSDA903_2025_episodes.csv")
    sample = [list(r.values()) for r in rows[:40]]
    # Different bytes: the very same file in two folders would be refused as a duplicate.
    write_rows(tmp_path / "ssda903" / "Bedford" / "2025" / "episodes.csv", header, sample)
    write_rows(tmp_path / "ssda903" / "Luton" / "2025" / "episodes.csv", header, sample[::-1])
    con, _ = load(tmp_path)
    by_la = {la: {c[0] for c in con.execute(
        "select child_id from raw.ssda903_episodes where la_gss_code = ?", [la]).fetchall()}
        for la in ("E06000055", "E06000032")}
    assert by_la["E06000055"] and by_la["E06000032"]
    assert not (by_la["E06000055"] & by_la["E06000032"])


def test_the_hash_key_comes_from_the_environment(tmp_path, monkeypatch):
    header, rows = read_rows(LIIA / "SSDA903_2025_header.csv")
    write_rows(tmp_path / "ssda903" / "Bedford" / "2025" / "header.csv", header, [list(rows[0].values())])
    monkeypatch.setenv(ssda903.CHILD_ID_KEY_ENV, "a-real-secret")
    con, _ = load(tmp_path)
    stored = con.execute("select child_id from raw.ssda903_header").fetchone()[0]
    assert stored == expected_hash(rows[0]["CHILD"], "E06000055", "a-real-secret")
    assert stored != expected_hash(rows[0]["CHILD"], "E06000055")


# --- bad input -------------------------------------------------------------------------------------------

EPISODE_HEADER = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                  "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"]


def episode(child="1001", decom="01/06/2024", place="U4", ls="C2", dec="", home="MK40 1", urn="1234567") -> list[str]:
    return [child, decom, "S", ls, "N1", place, "PR1", dec, "" if not dec else "E8", "", home, "MK42 7", urn]


@pytest.fixture
def bad_inbox(tmp_path):
    rows = [
        episode("1001"),                        # 2 good
        episode(""),                            # 3 blank CHILD
        episode("1003", decom="Notadate"),      # 4 impossible date
        episode("1004", place="FISH"),          # 5 unknown placement code: unusable
        episode("1005", ls="FISH"),             # 6 unknown legal status: kept, flagged
        episode("1006", dec="01/05/2024"),      # 7 ceased before it began
        episode("1007") + ["surplus"],          # 8 one field too many
        episode("1008", place="K2", urn=""),    # 9 children's home without URN: kept, flagged (218)
        episode("1009", home="NOT A POSTCODE"),  # 10 bad postcode: kept, flagged, district dropped
        episode("1001"),                        # 11 the same child and start again
    ]
    folder = tmp_path / "ssda903" / "Bedford" / "2025"
    write_rows(folder / "episodes.csv", EPISODE_HEADER, rows)
    shutil.copy(folder / "episodes.csv", folder / "episodes (copy).csv")  # the same return twice
    write_rows(folder / "header.csv", ["CHILD", "SEX", "ETHNIC"], [["1001", "1", "WBRI"]])  # no DOB column
    # A 2025 return filed under 2023: its dates run past 31 March 2023.
    write_rows(tmp_path / "ssda903" / "Luton" / "2023" / "episodes.csv", EPISODE_HEADER,
               [episode(str(2000 + i), decom=f"0{1 + i % 9}/0{1 + i % 9}/2024") for i in range(20)])
    write_rows(tmp_path / "ssda903" / "Luton" / "2023" / "uasc.csv", ["CHILD", "SEX", "DOB", "DUC"],
               [["2001", "1", "01/01/2008", ""]])
    write_rows(tmp_path / "ssda903" / "Narnia" / "2025" / "episodes.csv", EPISODE_HEADER, [episode("1")])
    write_rows(tmp_path / "ssda903" / "Bedford" / "latest" / "episodes.csv", EPISODE_HEADER, [episode("1")])
    return tmp_path


def test_bad_rows_are_quarantined_by_rule_and_good_rows_kept(bad_inbox):
    con, _ = load(bad_inbox)
    # The return is in two files of the same bytes: whichever was read first holds the rows.
    path = con.execute("select path from audit.load_log where path like '%/Bedford/2025/episodes%' "
                       "and status = 'loaded_with_quarantine'").fetchone()[0]
    got = dict(con.execute("select row_number, rule from audit.quarantine where path = ?", [path]).fetchall())
    assert got == {3: "CHILD_MISSING", 4: "141", 5: "146", 7: "356", 8: "EXTRA_FIELDS", 11: "DUPLICATE_EPISODE"}
    messages = dict(con.execute("select rule, message from audit.quarantine where path = ?", [path]).fetchall())
    assert "DECOM" in messages["141"] and "PLACE" in messages["146"]
    kept = dict(con.execute(
        "select source_row_number, warning_rules from raw.ssda903_episodes where source_file = ?", [path]
    ).fetchall())
    assert kept == {2: None, 6: "144", 9: "218", 10: "392c"}
    district = con.execute(
        "select home_postcode_district from raw.ssda903_episodes where source_row_number = 10").fetchone()[0]
    assert district is None
    entry = con.execute(
        "select rows_read, rows_loaded, rows_quarantined, status from audit.load_log where path = ?", [path]
    ).fetchone()
    assert entry == (10, 4, 6, "loaded_with_quarantine")


def test_quarantine_keeps_no_raw_child_id(bad_inbox):
    con, _ = load(bad_inbox)
    values = " ".join(r[0] or "" for r in con.execute("select raw_values from audit.quarantine").fetchall())
    assert not re.search(r'"CHILD":"10\d\d"', values)
    assert expected_hash("1003", "E06000055") in values


def test_the_same_return_under_two_names_adds_nothing(bad_inbox):
    con, _ = load(bad_inbox)
    statuses = con.execute(
        "select status, error, rows_loaded from audit.load_log where path like '%/Bedford/2025/episodes%' order by 1"
    ).fetchall()
    assert [s[0] for s in statuses] == ["duplicate", "loaded_with_quarantine"]
    assert "same content as" in statuses[0][1] and "Bedford/2025/episodes" in statuses[0][1]
    assert statuses[0][2] == 0
    assert con.execute("select count(*) from raw.ssda903_episodes where la_gss_code = 'E06000055'").fetchone()[0] == 4


def test_a_table_missing_a_required_column_is_refused_by_name(bad_inbox):
    con, _ = load(bad_inbox)
    status, error = con.execute("select status, error from audit.load_log where file_name = 'header.csv'").fetchone()
    assert status == "failed" and error.startswith("[MISSING_COLUMN]") and "DOB" in error


def test_a_return_in_the_wrong_year_folder_is_refused_whole(bad_inbox):
    con, _ = load(bad_inbox)
    rows = con.execute(
        "select file_name, status, error from audit.load_log where path like '%/Luton/2023/%' order by 1"
    ).fetchall()
    assert [r[0] for r in rows] == ["episodes.csv", "uasc.csv"]
    for _, status, error in rows:
        assert status == "failed" and error.startswith("[WRONG_COLLECTION_YEAR]") and "2025" in error
    assert con.execute("select count(*) from raw.ssda903_uasc").fetchone()[0] == 0


def test_unknown_la_and_year_folders_are_named(bad_inbox):
    con, _ = load(bad_inbox)
    errors = dict(con.execute(
        "select regexp_extract(path, 'ssda903/([^/]+/[^/]+)/', 1), error from audit.load_log where status = 'failed'"
    ).fetchall())
    assert errors["Narnia/2025"].startswith("[UNKNOWN_LA]") and "Narnia" in errors["Narnia/2025"]
    assert errors["Bedford/latest"].startswith("[YEAR_FOLDER]")


def test_loading_twice_adds_nothing(bad_inbox, tmp_path):
    db = tmp_path / "twice.duckdb"
    con, _ = load(bad_inbox, db)
    before = con.execute("select count(*) from raw.ssda903_episodes").fetchone()[0]
    con.close()
    con, outcomes = load(bad_inbox, db)
    assert con.execute("select count(*) from raw.ssda903_episodes").fetchone()[0] == before
    assert {o.status for o in outcomes if o.status != "failed"} == {"unchanged"}


def test_somerset_returns_belong_to_the_authority_of_their_year(tmp_path):
    for year in (2023, 2024):
        write_rows(tmp_path / "ssda903" / "Somerset" / str(year) / "episodes.csv", EPISODE_HEADER,
                   [episode("1", decom=f"01/06/{year - 1}")])
    con, _ = load(tmp_path)
    got = dict(con.execute("select collection_year, la_gss_code from raw.ssda903_episodes").fetchall())
    assert got == {2023: "E10000027", 2024: "E06000066"}  # county council until 1 April 2023
    # ... but one child keeps one id across the reorganisation (hashed with today's authority)
    ids = {r[0] for r in con.execute("select child_id from raw.ssda903_episodes").fetchall()}
    assert ids == {expected_hash("1", "E06000066")}

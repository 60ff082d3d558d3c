"""A build publishes what it can trust: an absent source, or a return that fails a blocking check, never stops the
rest; marts.build_coverage and the grouping marts say what is in and what is out; the exit code tells operators."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, run_build

LIIA_SAMPLES = REPO / "tests" / "fixtures" / "ssda903" / "liia-2025-samples"
CALDERDALE = REPO / "tests" / "fixtures" / "real" / "spend" / "calderdale_clean_2022-06.csv"
ESSEX = "E10000012"
ALL_SOURCES = {"ofsted", "placement_costs", "spend", "ssda903"}


def _rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _mart_counts(db: Path) -> dict[str, int]:
    tables = [t for (t,) in _rows(db, "select table_name from information_schema.tables "
                                      "where table_schema = 'marts' order by 1")]
    return {t: _rows(db, f"select count(*) from marts.{t}")[0][0] for t in tables}


def _assert_published_alone(build, source: str) -> None:
    assert build.returncode == 0, build.output[-5000:]
    assert "Build succeeded: every return present was included." in build.output
    absent = ", ".join(sorted(ALL_SOURCES - {source}))
    assert f"No input for: {absent}" in build.output
    assert (build.db.parent / "published" / "warehouse.duckdb").exists()
    statuses = _rows(build.db, "select source, status, count(*) from marts.build_coverage "
                               "where status <> 'missing' group by all")
    assert statuses and all(s == source and status == "included" for s, status, _ in statuses), statuses


def _open_episode_of_a_child(rows: list[dict], year_end: dt.date) -> dict:
    for row in rows:
        start = dt.datetime.strptime(row["DECOM"], "%d/%m/%Y").date()
        if not row["DEC"] and start < year_end - dt.timedelta(days=2):
            return row
    raise AssertionError("no open episode in the demo return")


def _with_a_second_open_episode(path: Path, year_end: dt.date) -> None:
    """The same return with one child in two episodes open on 31 March (what DfE rules 142 / 501 catch)."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    twin = dict(_open_episode_of_a_child(rows, year_end))
    start = dt.datetime.strptime(twin["DECOM"], "%d/%m/%Y").date()
    twin["DECOM"] = (start + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows + [twin])
    path.write_text(out.getvalue(), encoding="utf-8")


def test_an_inbox_of_ssda903_returns_alone_publishes_and_a_flawed_resubmission_never_erases_the_good_one(
        tmp_path, demo_region, dbt_manifest):
    inbox = tmp_path / "inbox"
    for year in ("2024", "2025"):
        shutil.copytree(demo_region.inbox / "ssda903" / "Bedford" / year, inbox / "ssda903" / "Bedford" / year)
    db = tmp_path / "wh" / "warehouse.duckdb"
    good = run_build(inbox, db)
    _assert_published_alone(good, "ssda903")
    mart_sql = "select * from marts.mart_la_sufficiency order by all"
    good_mart = _rows(db, mart_sql)
    assert {row[0] for row in good_mart} == {"E06000055"} and len(good_mart) == 2  # Bedford, 2024 and 2025
    assert _rows(db, "select count(*) from marts.mart_market_supply")[0][0] == 0  # no register: empty, not failed

    # The LA sends its 2025 episodes again, now with a child in two episodes open on 31 March.
    _with_a_second_open_episode(inbox / "ssda903" / "Bedford" / "2025" / "episodes.csv", dt.date(2025, 3, 31))
    flawed = run_build(inbox, db)
    assert flawed.returncode == 3, flawed.output[-5000:]
    assert "CARRIED_FORWARD" in flawed.output and "gx_raw_ssda903_episodes" in flawed.output
    assert "Build FAILED" not in flawed.output
    status, checks, reason, held = _rows(
        db, "select status, check_names, reason, files_held_back from marts.build_coverage "
            "where source = 'ssda903' and la_gss_code = 'E06000055' and period = '2025'")[0]
    assert status == "carried_forward"
    assert checks == "gx_raw_ssda903_episodes" and "episodes_open_31_march_for_child" in reason
    # the whole resubmission is held back (episodes, and header and uasc landed with it if they changed)
    assert held.endswith("2025/episodes.csv")
    assert _rows(db, mart_sql) == good_mart  # the good return stands, figure for figure
    # the flawed file's rows are in raw (nothing read is lost) but not staged
    staged_from = {p for (p,) in _rows(db, "select distinct source_file from staging.stg_ssda903__episodes "
                                           "where collection_year = 2025")}
    assert len(staged_from) == 1
    (good_sha,) = {s for (s,) in _rows(db, "select distinct file_sha256 from staging.stg_ssda903__episodes "
                                           "where collection_year = 2025")}
    assert _rows(db, "select status from audit.load_log where sha256 = ?", [good_sha])[0][0].startswith("loaded")
    assert _rows(db, "select count(*) from audit.held_back_files where file_sha256 = ?", [good_sha])[0][0] == 0
    published = db.parent / "published" / "warehouse.duckdb"
    assert _rows(published, "select status from marts.build_coverage where source = 'ssda903' and "
                            "la_gss_code = 'E06000055' and period = '2025'") == [("carried_forward",)]


def test_an_inbox_of_placement_cost_extracts_alone_publishes(tmp_path, demo_region, dbt_manifest):
    inbox = tmp_path / "inbox"
    shutil.copytree(demo_region.inbox / "placement_costs" / "Bedford", inbox / "placement_costs" / "Bedford")
    build = run_build(inbox, tmp_path / "wh" / "warehouse.duckdb")
    _assert_published_alone(build, "placement_costs")
    counts = _mart_counts(build.db)
    assert counts["mart_placement_costs"] > 0
    assert counts["mart_la_sufficiency"] == counts["mart_la_spend"] == counts["mart_market_supply"] == 0


def test_an_inbox_of_one_ledger_publishes_and_a_broken_model_publishes_nothing(tmp_path, dbt_manifest):
    inbox = tmp_path / "inbox"
    (inbox / "spend" / "Calderdale").mkdir(parents=True)
    shutil.copy(CALDERDALE, inbox / "spend" / "Calderdale")
    db = tmp_path / "wh" / "warehouse.duckdb"
    build = run_build(inbox, db)
    _assert_published_alone(build, "spend")
    with open(CALDERDALE, newline="", encoding="utf-8-sig") as handle:
        lines = sum(1 for _ in csv.DictReader(handle))
    assert _rows(db, "select sum(transactions) from marts.mart_la_spend")[0][0] == lines
    published = db.parent / "published" / "warehouse.duckdb"
    published_bytes = published.read_bytes()

    # A failure no return owns (a mart's SQL broken) fails the build and publishes nothing new.
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    mart = project / "models" / "marts" / "finance" / "mart_la_spend.sql"
    mart.write_text(mart.read_text().replace("select * from final", "select * from final_misspelt"))
    (inbox / "spend" / "Calderdale" / "calderdale_clean_2022-07.csv").write_bytes(
        (CALDERDALE.parent / "calderdale_clean_2022-07.csv").read_bytes())
    broken = run_build(inbox, db, extra_env={"WAREHOUSE_DBT_PROJECT_DIR": str(project)})
    assert broken.returncode == 1, broken.output[-5000:]
    assert "Build FAILED" in broken.output and "Nothing new was published" in broken.output
    assert published.read_bytes() == published_bytes


# --- The demo region with one LA's flawed return (the LIIA 2025 samples: 18 children in two open episodes) ---

def _region_inbox(base: Path, demo_region, essex_2025: Path | None) -> Path:
    """The demo inbox (hard links, nothing copied), with Essex's 2025 return replaced or taken out. Its ledgers and
    placement-cost extracts are left out: those marts do not read SSDA903 returns, and loading them twice more would
    add minutes to CI."""
    inbox = base / "inbox"
    for folder in ("ssda903", "ofsted"):
        shutil.copytree(demo_region.inbox / folder, inbox / folder, copy_function=_link)
    folder = inbox / "ssda903" / "Essex" / "2025"
    shutil.rmtree(folder)
    if essex_2025:
        shutil.copytree(essex_2025, folder)
    return inbox


def _link(src, dst):
    try:
        Path(dst).hardlink_to(src)
    except OSError:
        shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def region_builds(tmp_path_factory, demo_region, dbt_manifest):
    """(build with Essex's 2025 return replaced by the flawed samples, build without any Essex 2025 return)."""
    flawed_base, without_base = tmp_path_factory.mktemp("flawed-essex"), tmp_path_factory.mktemp("no-essex-2025")
    flawed = run_build(_region_inbox(flawed_base, demo_region, LIIA_SAMPLES), flawed_base / "wh" / "warehouse.duckdb",
                       exports="East of England,London")
    without = run_build(_region_inbox(without_base, demo_region, None), without_base / "wh" / "warehouse.duckdb")
    return flawed, without


def test_one_flawed_return_is_held_back_and_the_region_publishes(region_builds):
    flawed, without = region_builds
    assert without.returncode == 0, without.output[-5000:]
    assert flawed.returncode == 3, flawed.output[-5000:]
    assert "HELD_BACK" in flawed.output and "Essex" in flawed.output
    status, checks, reason, files = _rows(
        flawed.db, "select status, check_names, reason, files from marts.build_coverage "
                   f"where source = 'ssda903' and la_gss_code = '{ESSEX}' and period = '2025'")[0]
    assert status == "held_back"
    assert "gx_raw_ssda903_episodes" in checks and "episodes_open_31_march_for_child" in reason
    assert all(name in files for name in ("SSDA903_2025_episodes.csv", "SSDA903_2025_header.csv"))
    assert _rows(without.db, "select status from marts.build_coverage "
                             f"where source = 'ssda903' and la_gss_code = '{ESSEX}' and period = '2025'") == \
        [("missing",)]
    # nothing of the held-back return reaches staging
    assert _rows(flawed.db, "select count(*) from staging.stg_ssda903__episodes "
                            f"where la_gss_code = '{ESSEX}' and collection_year = 2025")[0][0] == 0
    # every file still reconciles
    assert _rows(flawed.db, "select count(*) from audit.load_log "
                            "where rows_read <> rows_loaded + rows_quarantined")[0][0] == 0


def _comparable(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> str:
    """The table's columns with doubles rounded (parallel sums may differ in the last bit) and file paths and load
    times left out (the two builds read the same files from two folders, at two times)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = 'marts' and table_name = ? order by ordinal_position",
        [catalog, table]).fetchall()
    picked = [f"round({name}, 6) as {name}" if kind in ("DOUBLE", "FLOAT") else name
              for name, kind in columns
              if not (name in ("files", "files_held_back", "source_file", "included_loaded_at", "path")
                      or name.endswith("_path"))]
    return f"select {', '.join(picked)} from {catalog}.marts.{table}"


def test_every_mart_equals_a_build_without_that_return(region_builds):
    flawed, without = region_builds
    con = duckdb.connect()
    con.execute(f"attach '{flawed.db}' as flawed (read_only)")
    con.execute(f"attach '{without.db}' as without_return (read_only)")
    tables = [t for (t,) in con.execute("select table_name from information_schema.tables "
                                        "where table_catalog = 'flawed' and table_schema = 'marts'").fetchall()]
    assert {"mart_la_sufficiency", "mart_placement_imports", "mart_placement_costs", "build_coverage"} <= set(tables)
    for table in tables:
        only_essex_2025 = (f" where not (source = 'ssda903' and la_gss_code = '{ESSEX}' and period = '2025')"
                           if table == "build_coverage" else "")
        left = _comparable(con, "flawed", table) + only_essex_2025
        right = _comparable(con, "without_return", table) + only_essex_2025
        rows = con.execute(f"select count(*) from ({left})").fetchone()[0]
        assert con.execute(f"select count(*) from ({left} except all {right})").fetchone()[0] == 0, table
        assert con.execute(f"select count(*) from ({right} except all {left})").fetchone()[0] == 0, table
        assert rows == con.execute(f"select count(*) from ({right})").fetchone()[0], table


def test_the_regions_figures_for_that_year_are_marked_incomplete(region_builds):
    flawed, _ = region_builds
    rows = {(grouping, year): (expected, included, complete) for grouping, year, expected, included, complete in _rows(
        flawed.db, "select grouping_name, collection_year, las_expected, las_included, complete "
                   "from marts.mart_grouping_sufficiency where grouping_name in ('East of England', 'Eastern Region')")}
    # the 11 East of England authorities all sent 2021-2025 in the demo; Essex's 2025 return is held back
    assert rows[("East of England", 2025)] == (11, 10, False)
    assert rows[("Eastern Region", 2025)] == (11, 10, False)
    assert rows[("East of England", 2024)] == (11, 11, True)
    assert "Missing" not in flawed.output.split("East of England")[0][-200:]  # held back, not reported missing


def test_the_workbook_says_on_its_first_page_that_essex_is_held_back(region_builds):
    import openpyxl

    flawed, _ = region_builds
    books = {openpyxl.load_workbook(p, read_only=True)["cover"]["A1"].value.split(" (")[0]: p
             for p in (flawed.db.parent / "exports").glob("*/*.xlsx")}
    cover = list(openpyxl.load_workbook(books["East of England"], read_only=True)["cover"]
                 .iter_rows(max_row=12, values_only=True))
    at = next(i for i, row in enumerate(cover) if row[0] == "Completeness")
    completeness = [row[1] for row in cover[at:] if isinstance(row[1], str)]
    assert completeness[0].startswith("INCOMPLETE")
    assert any("ssda903 return of Essex for 2025 held back" in line for line in completeness), completeness
    # a region the held-back return is no part of says it is complete
    london = list(openpyxl.load_workbook(books["London"], read_only=True)["cover"].iter_rows(max_row=6,
                                                                                          values_only=True))
    assert london[4][1] == "Every return of the grouping's authorities in the inbox was included."


def test_the_report_says_on_its_first_screen_that_essex_is_held_back(region_builds):
    from browser import open_page

    flawed, _ = region_builds
    page = flawed.db.parent / "reports" / "east-of-england.html"
    assert page.exists(), sorted(p.name for p in (flawed.db.parent / "reports").glob("*"))
    with open_page(page, viewport=(1280, 900)) as opened:
        alert = opened.page.locator("#held-back-alert")
        alert.wait_for(state="visible", timeout=30_000)
        box = alert.bounding_box()
        assert box["y"] + box["height"] < 900, "the held-back notice is below the first screen"
        text = alert.inner_text()
        assert "Held back" in text and "Essex" in text and "2025" in text
        assert opened.problems() == []
    # London's report, which Essex is no part of, has no such notice
    london = (flawed.db.parent / "reports" / "london.html").read_text(encoding="utf-8")
    assert 'id="held-back-alert"' not in london

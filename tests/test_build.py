"""A whole build from the bundled inbox: what it logs, what it checks, what it refuses to publish."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb

from orchestration.cli import LOADED_FOLDERS

from conftest import OFSTED_FILES, run_build


def test_build_passes_every_dbt_test_and_gx_suite(demo_build):
    assert demo_build.returncode == 0, demo_build.output[-6000:]
    assert "Build succeeded" in demo_build.output
    assert "ERROR=0" in demo_build.output  # dbt build summary lines
    assert "CHECK FAILED" not in demo_build.output
    for check in ("raw/ofsted_providers:gx_raw_ofsted_providers",
                  "staging/stg_ofsted__providers:gx_staging_ofsted_providers",
                  "marts/mart_market_supply:gx_marts_market_supply_reconciles",
                  "raw/ssda903_episodes:gx_raw_ssda903_episodes",
                  "staging/stg_ssda903__episodes:gx_staging_ssda903_episodes",
                  "marts/mart_la_sufficiency:gx_marts_la_sufficiency_reconciles"):
        assert f"GX suite passed: {check}" in demo_build.output


def test_gx_data_docs_are_built_beside_the_warehouse(demo_build):
    docs = demo_build.db.parent / "docs" / "gx"
    assert (docs / "index.html").exists()
    assert any((docs / "validations").rglob("*.html"))


def test_every_file_reconciles_in_the_load_log(con, demo_region):
    rows = con.execute(
        "select path, rows_read, rows_loaded, rows_quarantined, status from audit.load_log"
    ).fetchall()
    # Folders whose ingest has not landed yet are reported by the build, not loaded (orchestration.cli).
    files = {str(p.resolve()) for p in demo_region.inbox.rglob("*.csv")
             if p.relative_to(demo_region.inbox).parts[0] in LOADED_FOLDERS}
    assert {row[0] for row in rows} == files
    assert any("/ssda903/" in f for f in files)
    for name, read, loaded, quarantined, status in rows:
        assert read == loaded + quarantined, name
        assert status in ("loaded", "loaded_with_quarantine"), name
    quarantined = dict(con.execute(
        "select path, count(*) from audit.quarantine group by path"
    ).fetchall())
    assert quarantined == {
        name: q for name, _, _, q, _ in rows if q
    }


def test_rows_read_equal_the_csv_records_below_the_header(con):
    for path in OFSTED_FILES.glob("*.csv"):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            records = list(csv.reader(handle))
        header = next(i for i, r in enumerate(records) if "URN" in [c.strip() for c in r])
        read = con.execute("select rows_read from audit.load_log where file_name = ?", [path.name]).fetchone()[0]
        assert read == len(records) - header - 1, path.name


def test_provenance_on_every_raw_and_staged_row(con):
    for table in ("raw.ofsted_providers", "raw.ofsted_places", "raw.ofsted_closed_homes",
                  "staging.stg_ofsted__providers", "staging.stg_ofsted__places", "staging.stg_ofsted__closed_homes"):
        missing = con.execute(
            f"select count(*) from {table} where source_file is null or file_sha256 is null "
            "or source_row_number is null or load_id is null"
        ).fetchone()[0]
        assert missing == 0, table


def test_rebuilding_the_same_inbox_changes_no_count(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(OFSTED_FILES, inbox / "ofsted")
    db = tmp_path / "wh" / "warehouse.duckdb"
    first = run_build(inbox, db)
    assert first.returncode == 0, first.output[-4000:]
    # an inbox of one source publishes; the others are named as absent, their marts empty
    assert "No input for: placement_costs, spend, ssda903" in first.output
    assert "Build succeeded: every return present was included." in first.output

    def counts():
        with duckdb.connect(str(db), read_only=True) as con:
            return [con.execute(f"select count(*) from {t}").fetchone()[0] for t in
                    ("audit.load_log", "audit.quarantine", "raw.ofsted_providers", "raw.ofsted_places",
                     "raw.ofsted_closed_homes", "marts.mart_market_supply", "marts.dim_provider")] + [
                con.execute("select sum(providers) from marts.mart_market_supply").fetchone()[0]]

    before = counts()
    shutil.copy(inbox / "ofsted" / "provider_at_march_2019.csv", inbox / "ofsted" / "copy_of_2019_register.csv")
    second = run_build(inbox, db)
    assert second.returncode == 0, second.output[-4000:]
    after = counts()
    assert after[1:] == before[1:]
    assert after[0] == before[0] + 1  # the renamed copy is logged once, as a duplicate
    with duckdb.connect(str(db), read_only=True) as con:
        status, error = con.execute(
            "select status, error from audit.load_log where file_name = 'copy_of_2019_register.csv'"
        ).fetchone()
    assert status == "duplicate" and "provider_at_march_2019.csv" in error


def test_a_snapshot_failing_its_staging_suite_is_held_back_and_the_rest_publishes(tmp_path):
    """A register 'as at' 2005 whose homes were registered later breaks a staging expectation (registration date
    not after the snapshot): that snapshot is held back, staging is rebuilt without it, the rest publishes."""
    inbox = tmp_path / "inbox"
    (inbox / "ofsted").mkdir(parents=True)
    # A provision type the seed has never seen (Ofsted's residential family centres renamed) is kept under its
    # own label with a warning; the snapshot is not held back for that.
    with open(OFSTED_FILES / "provider_at_march_2021.csv", encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    header = next(i for i, r in enumerate(records) if "URN" in r)
    column = records[header].index("Provision type")
    renamed = 0
    for record in records[header + 1:]:
        if len(record) > column and record[column] == "Residential Family Centre":
            record[column], renamed = "Residential Family Hub", renamed + 1
    assert renamed > 50
    with open(inbox / "ofsted" / "provider_at_march_2021.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(records)
    db = tmp_path / "wh" / "warehouse.duckdb"
    good = run_build(inbox, db)
    assert good.returncode == 0, good.output[-4000:]
    assert "CHECK WARNING staging/stg_ofsted__providers:provision_types_known" in good.output
    assert f"'Residential Family Hub' x {renamed}" in good.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select sum(providers) from marts.mart_market_supply "
                           "where provision_type = 'Residential Family Hub'").fetchone()[0] == renamed

    shutil.copy(OFSTED_FILES / "provider_at_march_2019.csv", inbox / "ofsted" / "provider_at_march_2005.csv")
    build = run_build(inbox, db)
    assert build.returncode == 3, build.output[-4000:]
    assert "GX suite held returns back: staging/stg_ofsted__providers:gx_staging_ofsted_providers" in build.output
    assert "Build FAILED" not in build.output
    with duckdb.connect(str(db), read_only=True) as con:
        staged = con.execute("select count(*) from staging.stg_ofsted__providers "
                             "where snapshot_date = date '2005-03-31'").fetchone()[0]
        in_mart = con.execute("select count(*) from marts.mart_market_supply "
                              "where snapshot_date = date '2005-03-31'").fetchone()[0]
        homes_2021 = con.execute("select sum(providers) filter (where registered_as_childrens_home) "
                                 "from marts.mart_market_supply").fetchone()[0]
        raw_2005 = con.execute("select count(*) from raw.ofsted_providers "
                               "where reference_date = date '2005-03-31'").fetchone()[0]
    assert staged == 0 and in_mart == 0 and raw_2005 > 0  # kept in raw, kept out of everything built on it
    assert homes_2021 == 2706
    published = db.parent / "published" / "warehouse.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        coverage = con.execute("select period, status, check_names, reason from marts.build_coverage "
                               "where source = 'ofsted' order by 1").fetchall()
    assert [(period, status) for period, status, _, _ in coverage] == [("2005-03-31", "held_back"),
                                                                     ("2021-03-31", "included")]
    assert coverage[0][2] == "gx_staging_ofsted_providers" and "registration_date" in coverage[0][3]


def test_published_marts_are_a_copy_of_the_warehouse_marts(demo_build, con):
    published = demo_build.db.parent / "published" / "warehouse.duckdb"
    tables = [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
    assert {"dim_provider", "dim_local_authority", "mart_market_supply"} <= set(tables)
    with duckdb.connect(str(published), read_only=True) as copy:
        for table in tables:
            assert copy.execute(f"select count(*) from marts.{table}").fetchone() == \
                con.execute(f"select count(*) from marts.{table}").fetchone(), table
        assert copy.execute("select count(*) from information_schema.schemata "
                            "where schema_name in ('raw', 'staging', 'audit')").fetchone()[0] == 0


def test_each_publication_is_kept_whole_as_a_version_with_parquet(demo_build, con):
    published = demo_build.db.parent / "published"
    versions = sorted(p for p in (published / "versions").iterdir() if not p.name.startswith("."))
    assert len(versions) == 1
    tables = {t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
    assert {p.stem for p in (versions[0] / "parquet").glob("*.parquet")} == tables
    assert (published / "parquet").resolve() == (versions[0] / "parquet").resolve()
    assert (versions[0] / "warehouse.duckdb").read_bytes() == (published / "warehouse.duckdb").read_bytes()
    import pyarrow.parquet as pq
    for table in ("mart_la_sufficiency", "mart_provider_group_spend", "dim_provider"):
        parquet = pq.read_table(published / "parquet" / f"{table}.parquet")
        assert parquet.num_rows == con.execute(f"select count(*) from marts.{table}").fetchone()[0]
        assert parquet.column_names == [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
            "order by ordinal_position", [table]).fetchall()]


def test_only_the_newest_versions_are_kept(tmp_path, monkeypatch):
    from orchestration.defs.publish.assets import _keep_newest_versions

    monkeypatch.setenv("WAREHOUSE_PUBLISHED_VERSIONS", "2")
    for name in ("2026-12-01T060000.000000Z", "2026-12-03T060000.000000Z", "2026-12-02T060000.000000Z",
                 ".2026-12-04T060000.000000Z.building"):
        (tmp_path / name).mkdir()
    assert _keep_newest_versions(tmp_path) == ["2026-12-03T060000.000000Z", "2026-12-02T060000.000000Z"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".2026-12-04T060000.000000Z.building",
                                                          "2026-12-02T060000.000000Z", "2026-12-03T060000.000000Z"]


def test_bad_files_are_named_in_the_build_summary_and_others_still_load(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "ofsted").mkdir(parents=True)
    shutil.copy(OFSTED_FILES / "provider_at_march_2021.csv", inbox / "ofsted")
    (inbox / "ofsted" / "register_2024.csv").write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    (inbox / "ofsted" / "la_spend_2024.csv").write_text("Date,Supplier,Amount\n01/04/2024,Acme Ltd,100.00\n")
    db = tmp_path / "wh" / "warehouse.duckdb"
    build = run_build(inbox, db)
    assert build.returncode == 3, build.output[-4000:]  # published, with two returns held back
    assert "2 file(s) could not be loaded" in build.output
    assert "register_2024.csv" in build.output and "la_spend_2024.csv" in build.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select sum(providers) filter (where registered_as_childrens_home) from marts.mart_market_supply"
        ).fetchone()[0] == 2706
        failed = dict(con.execute("select file_name, error from audit.load_log where status = 'failed'").fetchall())
    assert "FILE_NOT_CSV" in failed["register_2024.csv"]
    assert "HEADER_NOT_FOUND" in failed["la_spend_2024.csv"]

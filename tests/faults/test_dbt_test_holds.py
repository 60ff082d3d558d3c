"""A dbt test judged per return: failing on one LA's rows, it holds back that LA's return and the build publishes
the others (exit 3); once the rule that held it is relaxed, the next build judges the return again and includes
it. A failure no return owns still fails the build (orchestration/lib/dbt_holds.py)."""

from __future__ import annotations

import csv
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import REPO, generate_demo_region, run_build

ESSEX, SUFFOLK = "E10000012", "E10000029"


def _children_looked_after(truth: Path) -> dict[tuple[int, str], int]:
    """The generator's own count of children looked after on 31 March, by year and LA."""
    totals: dict[tuple[int, str], int] = {}
    with open(truth / "children_looked_after_31_march.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (int(row["collection_year"]), row["la_gss_code"])
            totals[key] = totals.get(key, 0) + int(row["children"])
    return totals


def _project_with_a_tighter_rule(folder: Path) -> Path:
    """A copy of the dbt project in which an analyst's new test accepts only Essex on the staged episodes."""
    project = folder / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    path = project / "models" / "staging" / "ssda903" / "stg_ssda903__episodes.yml"
    spec = yaml.safe_load(path.read_text())
    column = next(c for c in spec["models"][0]["columns"] if c["name"] == "la_gss_code")
    column.setdefault("data_tests", []).append({"accepted_values": {"arguments": {"values": [ESSEX]}}})
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return project


@pytest.fixture(scope="module")
def two_las(tmp_path_factory):
    base = tmp_path_factory.mktemp("dbt-holds")
    region = generate_demo_region(base, "--las", "Essex,Suffolk", "--years", "2024", "--no-finance")
    return base, region


def test_a_dbt_test_failing_on_one_return_holds_it_back_and_a_relaxed_rule_lets_it_in(two_las):
    """A new dbt accepted_values test on staged episodes that one LA's return breaks. That return is held back
    (build_coverage names the dbt test), the other LA is published whole (exit 3); with the rule taken out again the
    next build judges the return again and publishes both, each LA's children looked after equal to the generator's
    truth."""
    base, region = two_las
    truth = _children_looked_after(region.truth)
    db = base / "warehouse" / "warehouse.duckdb"
    db.parent.mkdir()
    tight = run_build(region.inbox, db, extra_env={"WAREHOUSE_DBT_PROJECT_DIR": str(_project_with_a_tighter_rule(base))})
    assert tight.returncode == 3, tight.output[-5000:]
    published = db.parent / "published" / "warehouse.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        coverage = dict(((la, status), checks) for la, status, checks in con.execute(
            "select la_gss_code, status, check_names from marts.build_coverage "
            "where source = 'ssda903' and period = '2024'").fetchall())
        cla = dict(((year, la), n) for year, la, n in con.execute(
            "select collection_year, la_gss_code, children_looked_after from marts.mart_la_sufficiency").fetchall())
    assert (ESSEX, "included") in coverage
    assert "dbt test accepted_values_stg_ssda903__episodes_la_gss_code" in coverage[(SUFFOLK, "held_back")]
    assert cla == {(2024, ESSEX): truth[(2024, ESSEX)]}  # Essex published whole, Suffolk's rows not at all

    relaxed = run_build(region.inbox, db)  # the project as it is: the new rule taken out again
    assert relaxed.returncode == 0, relaxed.output[-5000:]
    with duckdb.connect(str(published), read_only=True) as con:
        statuses = set(con.execute("select la_gss_code, status from marts.build_coverage where source = 'ssda903' "
                                   "and period = '2024' and la_gss_code in (?, ?)", [ESSEX, SUFFOLK]).fetchall())
        cla = dict(((year, la), n) for year, la, n in con.execute(
            "select collection_year, la_gss_code, children_looked_after from marts.mart_la_sufficiency").fetchall())
        holds = con.execute("select count(*) from marts.build_coverage where check_names like 'dbt test%'").fetchone()
    assert statuses == {(ESSEX, "included"), (SUFFOLK, "included")}
    assert cla == {key: n for key, n in truth.items() if key[0] == 2024}
    assert holds == (0,)


def test_failing_rows_are_pinned_on_their_files_or_fail_the_build():
    """dbt tests failing on rows with a file, rows without one, a model without provenance, a model that errors. Only
    the rows with a file are pinned on a return; every other failure is one no return owns, which fails the build."""
    from orchestration.lib.dbt_holds import returns_failing

    con = duckdb.connect()
    con.execute("create schema staging")
    con.execute("create table staging.stg_x as select * from (values ('a', 'E1', 1), ('b', null, 2), "
                "('b', 'E2', 3), (null, 'E3', 4)) as t(file_sha256, la, n)")
    con.execute("create table staging.stg_y as select * from (values ('E1'), (null)) as t(la)")

    def test(name, kind, model, **kwargs):
        return f"test.p.{name}", {"resource_type": "test", "name": name, "attached_node": f"model.p.{model}",
                                  "test_metadata": {"name": kind, "kwargs": kwargs}, "config": {},
                                  "depends_on": {"nodes": [f"model.p.{model}"]}}

    models = {f"model.p.{m}": {"unique_id": f"model.p.{m}", "name": m, "schema": "staging",
                               "relation_name": f"staging.{m}"} for m in ("stg_x", "stg_y")}
    tests = dict([test("nn_la", "not_null", "stg_x", column_name="la"),
                  test("av_la", "accepted_values", "stg_x", column_name="la", values=["E1", "E2"]),
                  test("big_n", "expression_is_true", "stg_x", expression="n < 4"),
                  test("nn_y", "not_null", "stg_y", column_name="la")])
    manifest = {"nodes": {**models, **tests}}
    failures = returns_failing(con, manifest, [(t, "fail") for t in tests] + [("model.p.stg_x", "error")])
    # not_null: file b's row; accepted_values: E3 in no file's name (file_sha256 null): unowned; n < 4: no file
    assert failures.holds == {"b": ["dbt test nn_la failed on 1 row(s) of stg_x"]}
    assert sorted(failures.unowned) == sorted([
        "dbt test av_la: failing rows without a source file",
        "dbt test big_n: failing rows without a source file",
        "dbt test nn_y: stg_y carries no file provenance",
        "stg_x: error",
    ])


def _digest(folder: Path) -> dict[str, str]:
    """Every file under the published folder (links followed), by relative path, with its sha256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_full_disk_fails_the_build_and_leaves_the_published_marts_as_they_were(two_las):
    """The disk fills while a build writes the working warehouse (a file-size limit on the build's process, which
    the kernel enforces as it would a full disk). The build says it failed (exit 1, nothing new published), every
    published file is byte for byte as before, and the working warehouse still opens with its last good tables."""
    base, region = two_las
    db = base / "warehouse" / "warehouse.duckdb"
    if not (db.parent / "published").exists():
        assert run_build(region.inbox, db).returncode == 0
    before = _digest(db.parent / "published")
    with duckdb.connect(str(db), read_only=True) as con:
        staged = con.execute("select count(*) from staging.stg_ssda903__episodes").fetchone()[0]
    # Below what the build writes: the warehouse's new blocks, its WAL, dbt's artifacts, Dagster's own storage;
    # whichever write comes first fails, as on a full disk.
    limit = 1 << 20

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as ENOSPC would
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "DAGSTER_HOME": str(db.parent / "dagster_home"), "WAREHOUSE_EXPORTS": "none",
           "WAREHOUSE_DOCS": "0", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("WAREHOUSE_DB", None)
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "build", "--inbox", str(region.inbox), "--db", str(db)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, preexec_fn=small_disk)
    output = completed.stdout + completed.stderr
    assert completed.returncode not in (0, 3), output[-4000:]
    assert completed.returncode == 1 and "Build FAILED" in output, output[-4000:]
    assert any(sign in output for sign in ("File too large", "Errno 27", "EFBIG", "No space", "disk is full",
                                           "disk I/O error")), output[-4000:]
    assert _digest(db.parent / "published") == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from staging.stg_ssda903__episodes").fetchone()[0] == staged

"""docs/analysts_guide.md's worked example, built as an analyst would: its files written into a copy of the dbt
project, `dbt build` of the model (its unit test and data tests) on a copy of the demo warehouse, and then each
claim of the guide checked: a Dagster asset with checks, a sheet in the grouping's exports, suppressed, described."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from test_mart_docs import mart_doc_problems

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "analysts_guide.md"
MART = "mart_la_childrens_home_reliance"


def guide_files() -> dict[str, str]:
    """path -> text of each block the guide introduces with "File: `path`"."""
    found = re.findall(r"^File: `([^`]+)`\s*\n+```[a-z]*\n(.*?)^```", GUIDE.read_text(), flags=re.M | re.S)
    return dict(found)


@pytest.fixture(scope="module")
def analyst_project(tmp_path_factory, warehouse_db):
    base = tmp_path_factory.mktemp("analyst")
    project = base / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    files = guide_files()
    assert set(files) == {f"dbt_project/models/marts/sufficiency/{MART}.sql",
                          f"dbt_project/models/marts/sufficiency/{MART}.yml"}
    for path, text in files.items():
        (base / path).write_text(text)
    db = base / "warehouse.duckdb"
    shutil.copy(warehouse_db, db)
    env = {**os.environ, "WAREHOUSE_DB": str(db), "WAREHOUSE_DBT_PROJECT_DIR": str(project),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = str(Path(sys.executable).parent / "dbt")
    built = subprocess.run([dbt, "build", "--select", MART, "--profiles-dir", "."], cwd=project, env=env,
                           capture_output=True, text=True, timeout=600)
    return project, db, env, built


def test_the_example_builds_with_its_unit_test_and_data_tests(analyst_project):
    _, db, _, built = analyst_project
    assert built.returncode == 0, built.stdout[-4000:]
    assert "PASS=" in built.stdout and "ERROR=0" in built.stdout
    assert "reliance_share_and_places_per_child" in built.stdout  # the unit test ran
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(f"select count(*) from marts.{MART}").fetchone()[0]
        expected = con.execute("select count(*) from marts.mart_la_sufficiency").fetchone()[0]
    assert rows == expected > 0


def _in_python(env: dict, code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_it_appears_in_dagster_with_its_checks(analyst_project):
    _, _, env, built = analyst_project
    assert built.returncode == 0
    found = _in_python(env, f"""
import json
from orchestration.definitions import defs
graph = defs.resolve_asset_graph()
key = ["marts", "{MART}"]
checks = [c.name for c in graph.asset_check_keys if c.asset_key.path == key]
upstream = [k.path for k in graph.get(__import__("dagster").AssetKey(key)).parent_keys]
print(json.dumps({{"checks": checks, "upstream": upstream}}))
""")
    assert ["marts", "mart_la_sufficiency"] in found["upstream"]
    assert any("unique_combination" in name for name in found["checks"])
    assert any("expression_is_true" in name for name in found["checks"])


def test_it_is_exported_for_each_grouping_suppressed_and_described(analyst_project):
    _, db, env, built = analyst_project
    assert built.returncode == 0
    found = _in_python(env, f"""
import json, duckdb
from exports.groupings import groupings
from exports.manifest import mart_docs
from exports.tables import grouping_tables
from exports.suppression import suppress_mart
con = duckdb.connect({str(db)!r}, read_only=True)
eastern = next(g for g in groupings(con) if g.name == "Eastern Region")
table = grouping_tables(con, eastern)["{MART}"]
shown = suppress_mart(table, "{MART}")
docs = mart_docs()["{MART}"]
print(json.dumps({{"codes": sorted(eastern.la_gss_codes), "las": sorted(set(table["la_gss_code"])),
                  "raw": table.astype(object).where(table.notna(), None).values.tolist(),
                  "shown": shown.astype(object).where(shown.notna(), None).values.tolist(),
                  "columns": list(table.columns), "docs": docs.columns}}, default=str))
""")
    assert set(found["las"]) <= set(found["codes"]) and found["las"]
    columns = found["columns"]
    homes, share = columns.index("in_childrens_homes"), columns.index("share_in_childrens_homes")
    secure = columns.index("in_secure_childrens_homes")
    small = [shown for raw, shown in zip(found["raw"], found["shown"]) if 1 <= raw[secure] <= 4]
    assert small, "the demo region has LAs with 1-4 children in secure children's homes"
    assert all(shown[secure] == "c" for shown in small)
    shown_values = [(raw[secure], shown[secure]) for raw, shown in zip(found["raw"], found["shown"])]
    assert all(s == r for r, s in shown_values if not 1 <= r <= 4)  # nothing else is hidden in that column
    for raw, shown in zip(found["raw"], found["shown"]):  # a share is hidden with the count it is built on
        if shown[homes] == "c":
            assert shown[share] == "c"
    # no equation of the row leaves one hidden cell
    cla, rest = columns.index("children_looked_after"), columns.index("not_in_childrens_homes")
    assert all([shown[i] for i in (cla, homes, rest)].count("c") != 1 for shown in found["shown"])
    assert all(found["docs"][c] for c in columns)


def test_the_docs_test_accepts_it(analyst_project):
    _, db, env, built = analyst_project
    assert built.returncode == 0
    from exports.manifest import mart_docs

    docs = mart_docs(analyst_project[0] / "target" / "manifest.json")
    with duckdb.connect(str(db), read_only=True) as con:
        columns = {MART: dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ?", [MART]).fetchall())}
    assert mart_doc_problems({MART: docs[MART]}, columns) == []

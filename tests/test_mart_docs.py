"""Every mart and every column it outputs is described in the dbt docs, and every count of children carries the
suppression rule that the exports apply (exports/suppression.py reads both from the manifest: exports/manifest.py).

The columns a mart really outputs come from the warehouse, not from the manifest: dbt lists only the columns a .yml
documents, so a column added to a mart's SQL and to no .yml is invisible there."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from exports.manifest import MartDoc, mart_docs

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"

# Integer columns with these names count children, placements of children or spells: each carries a `suppress`
# rule that makes it a count (count, total_of, summed_by), whatever mart it is in.
COUNT_NAMES = (
    "children", "children_*", "*_children", "in_childrens_homes*",
    "placements", "placements_*", "*_placements", "one_placement",
    "starters", "starters_*", "*_starters", "cla_*", "uasc_*",
    "female", "male", "*_female", "*_male",
    "placed_*", "*_fostering", "kinship", "own_residential", "independent_residential", "secure", "semi_independent",
    "residential_school", "over_20_miles", "with_distance", "distance_unknown", "no_urn", "urn_not_registered",
)
# In a mart that counts children, columns with these names are computed from the counts (shares, medians, averages
# over placements, bed nights, net differences): each carries a rule too (derived_from).
DERIVED_NAMES = ("share_*", "median_*", "avg_*", "bed_nights*", "net_gain")
RULE_KEYS = {"derived_from", "total_of", "summed_by", "sums_to"}
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _counted(doc: MartDoc) -> set[str]:
    return {c for c, rule in doc.suppression.items()
            if rule == "count" or (isinstance(rule, dict) and "derived_from" not in rule)}


def _link_problems(where: str, mart: str, links: object, docs: dict[str, MartDoc],
                   every: dict[str, dict[str, str]]) -> list[str]:
    """sums_to: a link or a list of them, each {mart, by (list or mapping), columns or column_from}."""
    problems = []
    for link in links if isinstance(links, list) else [links]:
        if not isinstance(link, dict) or not {"mart", "by"} <= set(link) or \
                not set(link) <= {"mart", "by", "columns", "column_from", "column_names"}:
            problems.append(f"{where}: suppress sums_to needs mart and by (and columns or column_from), not {link!r}")
            continue
        other = link["mart"]
        if other not in every or other not in docs:
            problems.append(f"{where}: suppress sums_to names marts.{other}, which is no mart")
            continue
        by = link["by"] if isinstance(link["by"], dict) else {k: k for k in link["by"]}
        for here, there in by.items():
            if here not in every[mart]:
                problems.append(f"{where}: suppress sums_to keys on {here}, which marts.{mart} does not have")
            if there not in every[other]:
                problems.append(f"{where}: suppress sums_to keys on {there}, which marts.{other} does not have")
        if link.get("column_from") and link["column_from"] not in every[mart]:
            problems.append(f"{where}: suppress sums_to column_from {link['column_from']}, which marts.{mart} "
                            "does not have")
        for name in link.get("columns") or ([] if link.get("column_from") else [where.rsplit(".", 1)[1]]):
            if name not in _counted(docs[other]):
                problems.append(f"{where}: suppress sums_to names marts.{other}.{name}, which has no count rule")
    return problems


def _rule_problems(mart: str, column: str, rule: object, columns: dict[str, str],
                   counted: set[str], docs: dict[str, MartDoc] | None = None,
                   every: dict[str, dict[str, str]] | None = None) -> list[str]:
    where = f"marts.{mart}.{column}"
    if rule == "count":
        return [] if columns.get(column, "").upper() in INTEGER_TYPES else \
            [f"{where} has `suppress: count` but is of type {columns.get(column)}, not a whole number"]
    if not isinstance(rule, dict) or not rule or not set(rule) <= RULE_KEYS:
        return [f"{where} has suppress rule {rule!r}: expected `count` or a mapping of {sorted(RULE_KEYS)}"]
    problems = []
    if "derived_from" in rule and set(rule) != {"derived_from"}:
        problems.append(f"{where}: derived_from cannot go with total_of or summed_by (a derived value is no count)")
    for key, value in rule.items():
        if key == "sums_to":
            problems += _link_problems(where, mart, value, docs or {}, every or {})
            continue
        # total_of and summed_by may list several sets: [[a, b], [c, d]]
        sets = value if key != "derived_from" and isinstance(value, list) and value and \
            all(isinstance(v, list) for v in value) else [value]
        for names in sets:
            if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                problems.append(f"{where}: suppress {key} must be a non-empty list of column names, not {names!r}")
                continue
            problems += _names_problems(where, mart, key, names, columns, counted)
    if "derived_from" not in rule and columns.get(column, "").upper() not in INTEGER_TYPES:
        problems.append(f"{where} has a count rule but is of type {columns.get(column)}, not a whole number")
    return problems


def _names_problems(where: str, mart: str, key: str, names: list[str], columns: dict[str, str],
                    counted: set[str]) -> list[str]:
    problems = []
    for name in names:
        if name not in columns:
            problems.append(f"{where}: suppress {key} names {name}, which marts.{mart} does not have")
        elif key in ("derived_from", "total_of") and name not in counted:
            problems.append(f"{where}: suppress {key} names {name}, which has no count rule of its own")
        elif key == "summed_by" and name in counted:
            problems.append(f"{where}: suppress summed_by names {name}, a count, not a key column")
    return problems


def mart_doc_problems(docs: dict[str, MartDoc], columns: dict[str, dict[str, str]]) -> list[str]:
    """What the dbt docs miss about the marts as the warehouse holds them, one sentence each (empty: nothing).

    docs: exports.manifest.mart_docs(); columns: mart -> {column: DuckDB type} of every column the mart outputs."""
    problems = []
    for mart in sorted(set(docs) - set(columns)):
        problems.append(f"marts.{mart} is a dbt mart but the warehouse has no such table")
    for mart in sorted(columns):
        doc = docs.get(mart)
        if doc is None:
            problems.append(f"marts.{mart} is in the warehouse but is no dbt model under models/marts")
            continue
        if not doc.description:
            problems.append(f"marts.{mart} has no description in the dbt docs")
        output = columns[mart]
        for column in output:
            if not doc.columns.get(column, "").strip():
                problems.append(f"marts.{mart}.{column} has no description in the dbt docs")
        for column in doc.columns:
            if column not in output:
                problems.append(f"marts.{mart}.{column} is documented but the mart outputs no such column")
        counted = _counted(doc)
        for column, rule in doc.suppression.items():
            if column not in output:
                problems.append(f"marts.{mart}.{column} has a suppress rule but the mart outputs no such column")
                continue
            problems += _rule_problems(mart, column, rule, output, counted, docs, columns)
        for column, data_type in output.items():
            if data_type.upper() in INTEGER_TYPES and _matches(column, COUNT_NAMES) and column not in counted:
                problems.append(f"marts.{mart}.{column} counts children but has no suppress rule (count, total_of or "
                                "summed_by) in the dbt docs")
            elif counted and _matches(column, DERIVED_NAMES) and column not in doc.suppression:
                problems.append(f"marts.{mart}.{column} is computed from counts of children but has no suppress rule "
                                "(derived_from) in the dbt docs")
    return problems


def warehouse_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    columns: dict[str, dict[str, str]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' order by table_name, ordinal_position"
    ).fetchall():
        columns.setdefault(table, {})[column] = data_type
    return columns


def test_every_mart_column_is_described_and_every_count_of_children_suppressed(warehouse_db, dbt_manifest):
    con = duckdb.connect(warehouse_db, read_only=True)
    try:
        columns = warehouse_columns(con)
    finally:
        con.close()
    docs = mart_docs(dbt_manifest)
    assert len(docs) >= 20
    problems = mart_doc_problems(docs, columns)
    assert not problems, "\n".join(problems)


def test_the_suppression_rules_say_what_the_format_needs():
    """The rule checks themselves: a rule naming a column the mart lacks, a share counted as a count, a count left
    without a rule."""
    docs = {"mart_x": MartDoc("mart_x", "A mart.", {
        "la_gss_code": "The LA.", "children": "Children.", "girls": "Girls.", "share_girls": "girls / children.",
        "placements": "Spells.",
    }, {
        "children": {"total_of": ["girls", "boys"], "summed_by": ["collection_year"]},
        "girls": {"sums_to": [{"mart": "mart_y", "by": {"la_gss_code": "la"}, "columns": ["girls", "boys"]},
                              {"mart": "mart_z", "by": ["la_gss_code"]}]},
        "share_girls": "count",
    }), "mart_y": MartDoc("mart_y", "Another.", {"la_gss_code": "The LA.", "girls": "Girls."}, {"girls": "count"})}
    columns = {"mart_x": {"la_gss_code": "VARCHAR", "children": "BIGINT", "girls": "BIGINT", "share_girls": "DOUBLE",
                          "placements": "BIGINT"},
               "mart_y": {"la_gss_code": "VARCHAR", "girls": "BIGINT"}}
    problems = mart_doc_problems(docs, columns)
    assert problems == [
        "marts.mart_x.children: suppress total_of names boys, which marts.mart_x does not have",
        "marts.mart_x.children: suppress summed_by names collection_year, which marts.mart_x does not have",
        "marts.mart_x.girls: suppress sums_to keys on la, which marts.mart_y does not have",
        "marts.mart_x.girls: suppress sums_to names marts.mart_y.boys, which has no count rule",
        "marts.mart_x.girls: suppress sums_to names marts.mart_z, which is no mart",
        "marts.mart_x.share_girls has `suppress: count` but is of type DOUBLE, not a whole number",
        "marts.mart_x.placements counts children but has no suppress rule (count, total_of or summed_by) in the "
        "dbt docs",
    ]


def test_a_mart_column_added_without_docs_is_named(tmp_path, warehouse_db):
    """A copy of the dbt project whose stability mart outputs one more column, documented nowhere: parsed and
    compiled by dbt, the column list taken from the compiled SQL run against the demo warehouse."""
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    sql = project / "models" / "marts" / "sufficiency" / "mart_placement_stability.sql"
    last_column = "            as share_three_or_more\n"
    assert sql.read_text().count(last_column) == 1
    sql.write_text(sql.read_text().replace(
        last_column, last_column.rstrip("\n") + ",\n"
        "        cast(coalesce(counted.two_placements, 0) as bigint) as children_moved_twice\n"
    ))
    scratch = tmp_path / "scratch" / "warehouse.duckdb"  # dbt names the database after the file: "warehouse"
    scratch.parent.mkdir()
    env = {**os.environ, "WAREHOUSE_DB": str(scratch), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for command in (["parse"], ["compile", "--select", "mart_placement_stability"]):
        subprocess.run([str(DBT), *command, "--quiet", "--profiles-dir", "."], cwd=project, env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    docs = mart_docs(project / "target" / "manifest.json")
    assert "children_moved_twice" not in docs["mart_placement_stability"].columns
    compiled = next((project / "target" / "compiled").rglob("marts/sufficiency/mart_placement_stability.sql"))

    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse_db}' as {scratch.stem} (read_only)")
        columns = warehouse_columns(con)
        con.execute(f"use {scratch.stem}")
        relation = con.sql(compiled.read_text())
        columns["mart_placement_stability"] = dict(zip(relation.columns, map(str, relation.types)))
    finally:
        con.close()

    problems = mart_doc_problems(docs, columns)
    assert problems == [
        "marts.mart_placement_stability.children_moved_twice has no description in the dbt docs",
        "marts.mart_placement_stability.children_moved_twice counts children but has no suppress rule (count, "
        "total_of or summed_by) in the dbt docs",
    ]

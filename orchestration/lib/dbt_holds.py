"""A dbt test that fails on rows of staging or intermediate models holds back the returns that own those rows, as a
failing GX suite does; a test whose failing rows no return owns fails the build.

dbt says which tests failed (run_results.json), not on which rows. The rows are found again here from the test's
own definition in the manifest (its generic test, arguments and `where` config): the model's rows that break it,
and the files they came from (`file_sha256`). A singular test, a test on a model without provenance, a test that
errored, or failing rows without a file cannot be pinned on a return.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

# generic test -> the condition a row of the model (alias m) breaks it by, from the test's kwargs
_CONDITIONS = {
    "not_null": lambda kw, rel: f"m.{kw['column_name']} is null",
    "accepted_values": lambda kw, rel: f"m.{kw['column_name']} is not null "
                                       f"and not list_contains($values, cast(m.{kw['column_name']} as varchar))",
    "unique": lambda kw, rel: f"m.{kw['column_name']} in (select {kw['column_name']} from {rel} "
                              f"group by all having count(*) > 1)",
    "unique_combination": lambda kw, rel: "exists (select 1 from (select {cols} from {rel} group by all "
                                          "having count(*) > 1) as d where {pairs})".format(
        cols=", ".join(kw["columns"]), rel=rel,
        pairs=" and ".join(f"d.{c} is not distinct from m.{c}" for c in kw["columns"])),
    "expression_is_true": lambda kw, rel: f"not coalesce(({kw['expression']}), false)",
    "relationships": lambda kw, rel: f"m.{kw['column_name']} is not null and m.{kw['column_name']} not in "
                                     f"(select {kw['field']} from {kw['_to']} where {kw['field']} is not null)",
}
# in expression_is_true the expression names the model's columns bare: the model is selected as m with them


@dataclass
class TestFailures:
    holds: dict[str, list[str]] = field(default_factory=dict)  # file_sha256 -> messages
    unowned: list[str] = field(default_factory=list)  # why a failure could not be pinned on a return

    @property
    def held_files(self) -> int:
        return len(self.holds)


def failed_nodes(run_results: dict) -> list[tuple[str, str]]:
    """(unique_id, status) of every node dbt reports failed or errored."""
    return [(r["unique_id"], r["status"]) for r in run_results.get("results", [])
            if r.get("status") in ("fail", "error", "runtime error")]


def _relation_columns(con: duckdb.DuckDBPyConnection, node: dict) -> set[str]:
    return {row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [node["schema"], node.get("alias") or node["name"]]).fetchall()}


def returns_failing(con: duckdb.DuckDBPyConnection, manifest: dict, failed: list[tuple[str, str]]) -> TestFailures:
    """Which files own the rows each failed test fails on; what cannot be pinned on a file goes to unowned."""
    result = TestFailures()
    nodes = manifest["nodes"]
    for unique_id, status in failed:
        node = nodes.get(unique_id, {})
        name = node.get("name", unique_id)
        metadata = node.get("test_metadata") or {}
        if node.get("resource_type") != "test" or status != "fail":
            result.unowned.append(f"{name}: {status}")
            continue
        model = nodes.get(node.get("attached_node") or "")
        kind = metadata.get("name")
        if model is None or kind not in _CONDITIONS:
            result.unowned.append(f"dbt test {name}: a {kind or 'singular'} test, not pinned on returns")
            continue
        if "file_sha256" not in _relation_columns(con, model):
            result.unowned.append(f"dbt test {name}: {model['name']} carries no file provenance")
            continue
        kwargs = dict(metadata.get("kwargs") or {})
        if kind == "relationships":
            others = [n for n in node["depends_on"]["nodes"] if n != model["unique_id"]]
            if len(others) != 1 or others[0] not in nodes:
                result.unowned.append(f"dbt test {name}: cannot tell which model it refers to")
                continue
            kwargs["_to"] = nodes[others[0]]["relation_name"]
        relation = model["relation_name"]
        where = node.get("config", {}).get("where")
        scope = f"(select * from {relation}" + (f" where {where})" if where else ")")
        condition = _CONDITIONS[kind](kwargs, scope)
        # the model's columns bare (expression_is_true) and as m.<column>: both resolve against m
        sql = (f"select file_sha256, count(*) from {scope} as m where {condition} "
               "group by file_sha256 order by file_sha256 nulls first")
        params = {"values": [str(v) for v in kwargs.get("values", [])]} if kind == "accepted_values" else {}
        try:
            rows = con.execute(sql, params).fetchall()
        except duckdb.Error as error:
            result.unowned.append(f"dbt test {name}: its failing rows could not be found again ({error})")
            continue
        if not rows or rows[0][0] is None:
            result.unowned.append(f"dbt test {name}: " + ("failing rows without a source file" if rows
                                                           else "no failing row found again"))
            continue
        for sha256, count in rows:
            result.holds.setdefault(sha256, []).append(
                f"dbt test {name} failed on {count} row(s) of {model['name']}")
    return result


def record_holds(con: duckdb.DuckDBPyConnection, failures: TestFailures, layer: str, run_id: str) -> None:
    """One audit.return_holds row per test x file, check_name naming the dbt test."""
    rows = [(message.split(" failed on ")[0], layer, sha256, message, run_id)
            for sha256, messages in failures.holds.items() for message in messages]
    con.execute("begin")
    for check_name, layer_name, sha256, message, run in rows:
        con.execute("delete from audit.return_holds where check_name = ? and file_sha256 = ?", [check_name, sha256])
        con.execute("insert into audit.return_holds values (?, ?, ?, ?, ?, current_timestamp)",
                    [check_name, layer_name, sha256, message, run])
    con.execute("commit")


def release_holds(con: duckdb.DuckDBPyConnection, layers: tuple[str, ...] = ("staging", "intermediate")) -> int:
    """Holds made after staging (by GX staging suites and dbt tests) are judged again by every build: a return
    stays held only while a check of today's rules, seeds and overrides still fails on it."""
    released = con.execute("select count(*) from audit.return_holds where list_contains(?, layer)",
                           [list(layers)]).fetchone()[0]
    con.execute("delete from audit.return_holds where list_contains(?, layer)", [list(layers)])
    return released

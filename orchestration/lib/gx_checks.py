"""Dagster asset checks that run a GX suite over batches DuckDB hands out (per file, per snapshot, per return).

A check that `holds_back` judges returns, not the build: a failing batch (or the failing rows of a frame with one
row per return) puts the files it names into audit.return_holds, the check fails with WARN severity and the run
goes on without them (staging reads audit.included_files). A check that raises, or one that does not hold back,
fails with ERROR severity and stops everything downstream, publishing included.
"""

import re
from typing import Callable, Sequence

import dagster as dg
import duckdb
import great_expectations as gx

from expectations.runner import SuiteOutcome, SuiteRunner
from orchestration.lib import settings
from orchestration.lib.warehouse import WarehouseResource

MAX_MESSAGE = 1500


def included_file_count(con: duckdb.DuckDBPyConnection, source: str) -> int:
    exists = con.execute("select count(*) from information_schema.tables "
                         "where table_schema = 'audit' and table_name = 'included_files'").fetchone()[0]
    if not exists:
        return 0
    return con.execute("select count(*) from audit.included_files where source = ?", [source]).fetchone()[0]


def _files_of(frame, rows: set[int] | None, key: str | None = None) -> set[str]:
    """sha256s named by the failing rows (all rows when rows is None): file_sha256, or comma-joined file_sha256s;
    a batch keyed by a file's sha256 names that file even when it has no rows."""
    if key and re.fullmatch(r"[0-9a-f]{64}", key):
        return {key}
    picked = frame if rows is None else frame.loc[frame.index.isin(rows)]
    files: set[str] = set()
    if "file_sha256" in picked.columns:
        files |= {value for value in picked["file_sha256"].dropna().unique()}
    if "file_sha256s" in picked.columns:
        for value in picked["file_sha256s"].dropna():
            files |= {part for part in str(value).split(",") if part}
    return files


def _record_holds(warehouse: WarehouseResource, name: str, layer: str, run_id: str, judged: set[str],
                  holds: dict[str, str]) -> dict[str, str]:
    """Replace this check's holds on the files it judged now; returns path -> message of the holds."""
    with warehouse.connect() as con:
        con.execute("begin")
        con.execute("delete from audit.return_holds where check_name = ? and list_contains(?, file_sha256)",
                    [name, sorted(judged | set(holds))])
        for sha256, message in holds.items():
            con.execute("insert into audit.return_holds values (?, ?, ?, ?, ?, current_timestamp)",
                        [name, layer, sha256, message[:MAX_MESSAGE], run_id])
        con.execute("commit")
        paths = dict(con.execute(
            "select file_sha256, any_value(path) from audit.return_files where list_contains(?, file_sha256) "
            "group by all", [sorted(holds)]).fetchall()) if holds else {}
    return {paths.get(sha256, sha256): message for sha256, message in holds.items()}


def gx_asset_check(
    *,
    name: str,
    asset: dg.AssetKey,
    suite: Callable[[], gx.ExpectationSuite],
    batches_sql: str | None,
    batch_sql: str,
    description: str,
    source: str,
    holds_back: bool = False,
    may_be_empty: bool = False,
    additional_deps: Sequence[dg.AssetKey] = (),
) -> dg.AssetChecksDefinition:
    """batches_sql lists batch keys (first column is the key); batch_sql takes one key and returns the frame.
    With batches_sql None, batch_sql runs once and its result is the single batch. `source` is the inbox folder
    the checked rows come from: with no included file of it the check reports "no input"; with some, an empty
    result fails, unless may_be_empty (a mart that is rightly empty from present data, such as concentration where
    no children's placement spend was found: build_coverage says so). With holds_back, frames carry file_sha256
    (or comma-joined file_sha256s) on every row."""
    layer = asset.path[0]

    @dg.asset_check(
        name=name,
        asset=asset,
        blocking=True,
        description=description,
        pool=settings.WAREHOUSE_POOL,
        additional_deps=list(additional_deps),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            included = included_file_count(con, source)
            if not included:
                return dg.AssetCheckResult(
                    passed=True, severity=dg.AssetCheckSeverity.WARN,
                    description=f"GX suite {name}: no input (no {source} file included in this build)",
                    metadata={"suite": name, "no_input": True, "source": source},
                )
            keys = [row[0] for row in con.execute(batches_sql).fetchall()] if batches_sql else [None]
            frames = [
                (str(key), con.execute(batch_sql, [key] if key is not None else []).df()) for key in keys
            ]
        runner = SuiteRunner(settings.gx_root(), settings.docs_dir() / "gx")
        outcomes: list[tuple[SuiteOutcome, object]] = []
        for key, frame in frames:
            by_row = holds_back and len(_files_of(frame, None, key)) > 1
            outcomes.append((runner.validate(suite(), frame, key, failing_rows=by_row), frame))
        failed = [outcome for outcome, _ in outcomes if not outcome.success]
        if failed and settings.build_docs():
            # so that a build that stops here shows why; a build that publishes writes the docs once, at the end
            # (orchestration/defs/docs): rendering every result again after each suite took minutes a build
            runner.build_docs()
        empty = sum(len(frame) for _, frame in frames) == 0 and not may_be_empty
        held: dict[str, str] = {}
        unattributed = bool(failed) and not holds_back
        if holds_back:
            judged: set[str] = set()
            holds: dict[str, str] = {}
            for outcome, frame in outcomes:
                judged |= _files_of(frame, None, outcome.batch)
                if outcome.success:
                    continue
                files = _files_of(frame, outcome.failing_rows, outcome.batch)
                unattributed = unattributed or not files  # a failure no return owns stops the build
                for sha256 in files:
                    holds[sha256] = f"{name} [{outcome.batch}]: " + "; ".join(outcome.failures)
            held = _record_holds(warehouse, name, layer, context.op_execution_context.run_id, judged, holds)
        blocking_failure = unattributed or (empty and not holds_back)
        if empty and not holds_back:
            summary = f"GX suite {name}: empty, though {included} {source} file(s) are included in this build"
        elif holds_back and held:
            summary = (f"GX suite {name}: {len(held)} file(s) held back, {len(outcomes) - len(failed)} of "
                       f"{len(outcomes)} batches passed")
        elif may_be_empty and sum(len(frame) for _, frame in frames) == 0:
            summary = f"GX suite {name}: nothing to judge (rightly empty from present data; see marts.build_coverage)"
        else:
            summary = f"GX suite {name}: {len(outcomes) - len(failed)} of {len(outcomes)} batches passed"
        return dg.AssetCheckResult(
            passed=not failed and not (empty and not holds_back),
            severity=dg.AssetCheckSeverity.ERROR if blocking_failure else dg.AssetCheckSeverity.WARN,
            description=summary,
            metadata={
                "suite": name,
                "batches": len(outcomes),
                "failed_batches": [outcome.batch for outcome in failed],
                "held_back": dg.MetadataValue.md("\n".join(f"- `{p}`: {m}" for p, m in held.items()) or "none"),
                "failures": dg.MetadataValue.md(
                    "\n".join(f"- **{o.batch}**: {f}" for o in failed for f in o.failures) or "none"
                ),
                "data_docs": dg.MetadataValue.path(str(settings.docs_dir() / "gx" / "index.html")),
            },
        )

    return _check

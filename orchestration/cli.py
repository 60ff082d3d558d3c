"""`warehouse build`: materialise every asset from an inbox into a DuckDB file, then say what was published.

Runs the same job the daemon schedules (build_everything), in this process, against the Dagster instance
in $DAGSTER_HOME. Exit codes, for alerting:
  0  published, and every return present in the inbox was included;
  3  published, with some returns held back or carried forward from an earlier build (marts.build_coverage);
  1  (or any other) nothing new was published: a step or a check that no single return owns failed, or another
     build of the same DuckDB file was running (refused at once, naming its pid and start time).

One build at a time per DuckDB file: a build holds an OS lock (flock) on <db>.build.lock, beside the file, from
start to end. The kernel drops it when the process ends, however it ends (a killed build never blocks the next).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import IO

import duckdb

from ingest import ssda903
from ingest.local_authorities import resolve_la


def _summarise(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        files = con.execute(
            """
            select source, count(*), sum(rows_read), sum(rows_loaded), sum(rows_quarantined),
                   count(*) filter (where status = 'failed'), count(*) filter (where status = 'duplicate')
            from audit.load_log group by source order by source
            """
        ).fetchall()
        failed = con.execute(
            "select path, error from audit.load_log where status = 'failed' order by path"
        ).fetchall()
        marts = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
    finally:
        con.close()
    print("\nFiles by source (files, rows read, loaded, quarantined, failed files, duplicate files):")
    for row in files:
        print(f"  {row[0]:<16} {row[1]:>5} files {row[2]:>10} read {row[3]:>10} loaded {row[4]:>8} quarantined"
              f" {row[5]:>3} failed {row[6]:>3} duplicate")
    print(f"\nMarts in {db} (schema marts): {', '.join(m[0] for m in marts) or 'none'}")
    return failed


# Inbox folders an ingest asset reads today; the others of the contract get theirs in later issues.
LOADED_FOLDERS = {"ofsted", "ssda903", "placement_costs", "spend"}
PUBLISHED_WITH_HOLDS = 3
AFTER_PUBLISHING = {"docs__dbt", "exports__groupings"}  # step keys of the assets downstream of the publication


def _coverage(db: Path) -> tuple[list[str], list[tuple], list[tuple]]:
    """(absent sources, returns not included as sent, missing returns) of the build just run."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        present = {row[0] for row in con.execute("select distinct source from audit.load_log").fetchall()}
        has_coverage = con.execute("select count(*) from information_schema.tables "
                                   "where table_schema = 'marts' and table_name = 'build_coverage'").fetchone()[0]
        if not has_coverage:
            return sorted(LOADED_FOLDERS - present), [], []
        not_as_sent = con.execute(
            "select source, coalesce(la_name, la_gss_code, 'national'), period, status, check_names, reason, "
            "files_held_back from marts.build_coverage where status in ('held_back', 'carried_forward') "
            "order by 1, 2, 3").fetchall()
        missing = con.execute(
            "select source, period, count(*), string_agg(coalesce(la_name, la_gss_code), ', ' order by la_name) "
            "from marts.build_coverage where status = 'missing' group by all order by 1, 2").fetchall()
    finally:
        con.close()
    return sorted(LOADED_FOLDERS - present), not_as_sent, missing


def _report_unloaded_folders(inbox: Path) -> None:
    if not inbox.exists():
        print(f"\nThe inbox {inbox} does not exist.")
        return
    for folder in sorted(p for p in inbox.iterdir() if p.is_dir() and p.name not in LOADED_FOLDERS):
        files = sum(1 for f in folder.rglob("*") if f.is_file())
        print(f"\nNot loaded (no ingest for inbox/{folder.name}/ yet): {files} file(s) left untouched")


def build_lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".build.lock")


def _take_build_lock(db: Path) -> IO[str] | None:
    """The open lock file, locked for this process (kept open for the whole build), or None when another build of
    the same DuckDB file holds it. flock, not a pid file: the kernel releases it when the holder dies, SIGKILL
    included, so a lock left by a killed build never blocks the next one (the file stays, its text is stale)."""
    path = build_lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = handle.read().strip() or "a build that has not written its pid yet"
        handle.close()
        print(f"Another build of {db} is running ({holder}; lock {path}).\nThis build did not start: nothing new "
              "was published, the last good publication stands. Run it again when that build has finished.",
              file=sys.stderr)
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, started {datetime.now().astimezone().isoformat(timespec='seconds')}\n")
    handle.flush()
    return handle


BUILD_LOCK_TAG = "warehouse/build_lock"  # on each run of `warehouse build`: which DuckDB file's lock it held


def _lock_tag(lock: Path) -> str:
    return hashlib.sha1(str(lock).encode()).hexdigest()  # a path is not a valid tag value everywhere


def _release_killed_builds(instance, tags: dict[str, str]) -> None:
    """Runs of earlier builds of this DuckDB file that never ended: their process was killed, since a live one would
    hold the build lock this build holds now. Dagster keeps the step slot such a run had claimed in the warehouse
    pool (one step at a time, dagster.yaml) for ever, so without this the next build waited for ever ("Step still
    blocked by limit for pool warehouse"); and their status stays STARTED, which would hold up the daemon's queue
    (one run at a time). Their slots are freed and they are marked failed."""
    import dagster as dg

    finished = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
    unfinished = [status for status in dg.DagsterRunStatus if status not in finished]
    for run in instance.get_runs(filters=dg.RunsFilter(tags=tags, statuses=unfinished)):
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        instance.report_run_failed(run, "The process of this build ended without finishing the run (killed?): marked "
                                        "failed, its warehouse pool slot freed, by the next build of the same file.")
        print(f"Run {run.run_id} of an earlier build of this file never finished (killed): its slot in the "
              "warehouse pool is freed and the run marked failed.", flush=True)


def build(inbox: str | None, db: str | None) -> int:
    if inbox:
        os.environ["WAREHOUSE_INBOX"] = str(Path(inbox).resolve())
    if db:
        os.environ["WAREHOUSE_DB"] = str(Path(db).resolve())
    from orchestration.lib import settings

    db_path = settings.warehouse_db()
    lock = _take_build_lock(db_path)
    if lock is None:
        return 1
    try:
        return _build(db_path, settings)
    except Exception as error:  # a full disk, Dagster's own storage failing: said, not a traceback alone
        import traceback

        traceback.print_exc()
        print(f"\nBuild FAILED outside any step: {type(error).__name__}: {str(error).splitlines()[0][:500]}\n"
              f"Nothing new was published past the last publication that finished; {settings.published_dir()} "
              "holds it, whole (it is swapped in by rename).", file=sys.stderr)
        return 1
    finally:
        lock.close()  # releases the lock (the file stays: removing it could let two builds lock two files)


def _build(db_path: Path, settings) -> int:
    lock = build_lock_path(db_path)
    print(f"Building {db_path} from inbox {settings.inbox_dir()} (pid {os.getpid()}; lock {lock})", flush=True)
    import dagster as dg

    from orchestration.definitions import defs

    job = defs.resolve_job_def("build_everything")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    tags = {BUILD_LOCK_TAG: _lock_tag(lock)}
    _release_killed_builds(instance, tags)
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("WAREHOUSE_LOG_LEVEL", "INFO")}}}},
        tags=tags,
    )
    failed_steps = [event.step_key for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    # Docs, exports and reports are written from what was just published: their failure leaves the publication
    # standing (the exit code says what was published) and is printed loudly below.
    failed_outputs = [step for step in failed_steps if step in AFTER_PUBLISHING]
    failed_steps = [step for step in failed_steps if step not in AFTER_PUBLISHING]
    failed_checks = []
    evaluations = result.get_asset_check_evaluations()
    print(f"\nAsset checks: {sum(e.passed for e in evaluations)} passed, {sum(not e.passed for e in evaluations)} failed")
    for evaluation in evaluations:
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        if evaluation.check_name.startswith("gx_"):
            verdict = ("passed" if evaluation.passed else "FAILED" if evaluation.severity == dg.AssetCheckSeverity.ERROR
                       else "held returns back")
            no_input = " (no input)" if evaluation.metadata.get("no_input") else ""
            print(f"  GX suite {verdict}: {name}{no_input}")
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN:
            held = evaluation.metadata.get("held_back") or evaluation.metadata.get("unknown_provision_types")
            print(f"CHECK WARNING {name}: {evaluation.description}\n{held.value if held else ''}")
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failed_checks.append(name)
            failures = evaluation.metadata.get("failures")
            print(f"CHECK FAILED {name}\n{failures.value if failures else evaluation.description}")
    failed_files = _summarise(db_path)
    _report_unloaded_folders(settings.inbox_dir())
    published = db_path.parent / "published" / "warehouse.duckdb"
    if failed_files:
        print(f"\n{len(failed_files)} file(s) could not be loaded (see audit.load_log):")
        for path, error in failed_files:
            print(f"  FAILED {path}\n         {error}")
    if failed_steps or failed_checks:
        print(f"\nBuild FAILED: steps {failed_steps or 'none'}; blocking checks {failed_checks or 'none'}")
        print(f"Nothing new was published; {published} is the last good build's, unchanged.")
        return 1
    absent, not_as_sent, missing = _coverage(db_path)
    print(f"\nPublished marts (read-only): {published}")
    if failed_outputs:
        print(f"OUTPUTS FAILED after publishing: {', '.join(failed_outputs)}; the exports, reports or docs beside "
              "the warehouse are the previous build's (see the run's log).")
    print("Query them, e.g.:\n  .venv/bin/python -c \"import duckdb; print(duckdb.connect('"
          f"{published}', read_only=True).sql('select * from marts.build_coverage limit 10'))\"")
    if absent:
        print(f"\nNo input for: {', '.join(absent)} (their marts are empty)")
    for source, period, count, las in missing:
        print(f"Missing {source} returns for {period} ({count} LA(s) a configured grouping expects): {las}")
    if not_as_sent:
        print(f"\n{len(not_as_sent)} return(s) not published as sent (marts.build_coverage):")
        for source, la, period, status, checks, reason, files in not_as_sent:
            print(f"  {status.upper():<15} {source} {la} {period}: {checks}\n      files: {files}\n"
                  f"      {(reason or '')[:600]}")
        print(f"\nBuild published, with held-back or carried-forward returns (exit {PUBLISHED_WITH_HOLDS}).")
        return PUBLISHED_WITH_HOLDS
    print("\nBuild succeeded: every return present was included.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="warehouse", description="Placement sufficiency warehouse")
    sub = parser.add_subparsers(dest="command", required=True)
    build_parser = sub.add_parser("build", help="materialise every asset from an inbox into a DuckDB file")
    build_parser.add_argument("--inbox", help="inbox folder (default $WAREHOUSE_INBOX or ./inbox)")
    build_parser.add_argument("--db", help="DuckDB file (default $WAREHOUSE_DB or warehouse/warehouse.duckdb)")
    errors_parser = sub.add_parser("ssda903-errors", help="write one LA's SSDA903 error report (every rule failure) as CSV")
    errors_parser.add_argument("--la", required=True, help="the LA: name, GSS or DfE code")
    errors_parser.add_argument("--db", help="DuckDB file (default $WAREHOUSE_DB or warehouse/warehouse.duckdb)")
    errors_parser.add_argument("--out", help="folder (default exports/ssda903_errors beside the DuckDB file)")
    _add_lineage_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "lineage":
        from orchestration.lineage import lineage

        return lineage(args.mart, args.where, args.db, args.out, args.manifest)
    if args.command == "build":
        return build(args.inbox, args.db)
    if args.command == "ssda903-errors":
        return export_ssda903_errors(args.la, args.db, args.out)
    return 2


def _add_lineage_parser(sub) -> None:
    from orchestration.lineage import RECORD_NUMBER_HELP

    parser = sub.add_parser(
        "lineage",
        help="the source files, sha256 and record numbers behind one mart row (also written as CSV)",
        description=(
            "Find the one row of MART the --where conditions pick and list the source records it was built from, "
            "down through intermediate and staging to the files: path, sha256, record number, load id, the layers "
            "each record passed through and, where the mart row sums money or nights, each record's part, with "
            "totals checked against the mart's figures. How each mart reaches its rows is declared beside the mart "
            "(`config: meta: lineage:` in its dbt .yml) and read from the dbt manifest. Child identifiers are never "
            "printed or written. " + RECORD_NUMBER_HELP + " Exit 0: traced, totals equal the mart's; 1: traced, "
            "but something does not reconcile (MISMATCH / PROBLEM printed); 2: nothing traced (no such column, no "
            "row or several rows match, a mart without lineage)."
        ),
        epilog=(
            "example: warehouse lineage mart_provider_group_spend --where \"grouping_name = 'Eastern Region'\" "
            "--where \"financial_year = '2023-24' and provider_group_id = 'org-97e72928ee64'\""
        ),
    )
    parser.add_argument("mart", metavar="MART", help="the mart, e.g. mart_provider_group_spend")
    parser.add_argument(
        "--where", action="append", default=[], metavar="CONDITION",
        help="column = value (quote text values: grouping_name = 'Eastern Region'; `column is null`); several "
             "--where, or conditions joined by `and`, narrow it to one row. Columns are checked against the mart's "
             "columns and values bound as parameters, never pasted into SQL",
    )
    parser.add_argument("--db", help="DuckDB file, opened read-only (default $WAREHOUSE_DB or warehouse/warehouse.duckdb)")
    parser.add_argument("--out", help="CSV to write (default lineage/<mart>-<timestamp>.csv beside the DuckDB file)")
    parser.add_argument("--manifest", help="dbt manifest (default dbt_project/target/manifest.json; `make manifest`)")


def export_ssda903_errors(la_text: str, db: str | None, out: str | None) -> int:
    la = resolve_la(la_text)
    if la is None:
        print(f"'{la_text}' names no English local authority (use its name, GSS or DfE code)", file=sys.stderr)
        return 2
    from orchestration.lib import settings

    db_path = Path(db) if db else settings.warehouse_db()
    out_dir = Path(out) if out else db_path.parent / "exports" / "ssda903_errors"
    with duckdb.connect(str(db_path), read_only=True) as con:
        path, rows = ssda903.export_rule_failures(con, la.gss_code, out_dir)
    print(f"{rows} rule failure(s) of {la.name}'s SSDA903 returns written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

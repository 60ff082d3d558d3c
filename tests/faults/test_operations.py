"""Operating the daily build (README, "Operating the daily build"): the exit codes alerting reads come through
bin/warehouse unchanged (make turns them into 2), one build at a time per warehouse, leads reading the published
marts while a build runs, and a build killed mid-way.

Three builds, run one after the other on one small inbox (a register file and a spreadsheet saved as .csv, the held
return; the second and third builds add an older register): the first publishes; the second is SIGKILLed while dbt
writes the working warehouse; the third, through `make build`, publishes while a reader queries the published marts
in a loop and a fourth build on the same DuckDB file is refused. All tests of this module share one xdist group
(tests/conftest.py groups by module), so the builds never run on both workers at once."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from conftest import OFSTED_FILES, REPO

WAREHOUSE = REPO / "bin" / "warehouse"
REGISTER = "provider_at_march_2021.csv"  # as at 31 March 2021 (the file name says so)
OLDER_REGISTER = "provider_at_march_2019.csv"
SPREADSHEET = "register_2024.csv"  # a workbook saved under a .csv name: FILE_NOT_CSV, its return held back
READ_TABLES = ("mart_market_supply", "dim_provider", "build_coverage")
BUILD_TIMEOUT = 600


def _env(base: Path) -> dict:
    """The environment a cron job would give, with a Dagster instance of its own and no exports or docs (a minute
    each, not what these tests are about)."""
    env = {**os.environ, "DAGSTER_HOME": str(base / "dagster_home"), "WAREHOUSE_EXPORTS": "none",
           "WAREHOUSE_DOCS": "0"}
    for name in ("WAREHOUSE_DB", "WAREHOUSE_INBOX", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    return env


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _nothing_left_running():
    """A failing test leaves no build (nor reader) running behind it."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _start(command: list[str], log: Path, env: dict) -> subprocess.Popen:
    """A process in a session (and process group) of its own, as cron starts one, its output in a file."""
    with open(log, "w") as out:
        STARTED.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True))
    return STARTED[-1]


def _finish(process: subprocess.Popen, log: Path) -> tuple[int, str]:
    try:
        process.wait(timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return process.returncode, log.read_text()


def _wait_for(log: Path, pattern: str, process: subprocess.Popen, timeout: float = 600) -> re.Match:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = re.search(pattern, log.read_text() if log.exists() else "")
        if found:
            return found
        assert process.poll() is None, f"exited {process.returncode} before {pattern!r}:\n{log.read_text()[-4000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no {pattern!r} in {timeout} s:\n{log.read_text()[-4000:]}")


def _build(inbox: Path, db: Path, log: Path) -> tuple[int, str]:
    return _finish(_start([str(WAREHOUSE), "build", "--inbox", str(inbox), "--db", str(db)], log, _env(db.parent)),
                   log)


def _records(register: Path) -> int:
    """Records below the header row of an Ofsted register file."""
    with open(register, encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    return len(records) - next(i for i, r in enumerate(records) if "URN" in [c.strip() for c in r]) - 1


def _tree(folder: Path) -> dict[str, bytes | str]:
    """Every file's bytes and every link's target under folder."""
    return {str(p.relative_to(folder)): (f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


def _fingerprint(con: duckdb.DuckDBPyConnection, relation: str) -> list:
    """Rows and an order-free hash of every row: equal only for the whole table."""
    count, digest = con.execute(f"select count(*), coalesce(sum(hash(t)), 0) from {relation} as t").fetchone()
    return [count, str(digest)]


def _version_fingerprints(published: Path) -> tuple[list[dict], list[dict]]:
    """Of each published version (versions/<time>/): its DuckDB tables' fingerprints, its Parquet files'."""
    in_duckdb, in_parquet = [], []
    for version in sorted(p for p in (published / "versions").iterdir() if not p.name.startswith(".")):
        with duckdb.connect(str(version / "warehouse.duckdb"), read_only=True) as con:
            in_duckdb.append({t: _fingerprint(con, f"marts.{t}") for t in READ_TABLES})
        with duckdb.connect() as con:
            in_parquet.append({t: _fingerprint(con, f"read_parquet('{version / 'parquet' / t}.parquet')")
                               for t in READ_TABLES})
    return in_duckdb, in_parquet


# A regional lead's queries, in a loop until told to stop: each one on a fresh read-only connection to the published
# file (as the README shows), and on the Parquet files through published/parquet. One JSON line per round.
READER = f"""
import json, sys, time
from pathlib import Path
import duckdb
published, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
tables = {READ_TABLES!r}
def fingerprint(con, relation):
    count, digest = con.execute(f"select count(*), coalesce(sum(hash(t)), 0) from {{relation}} as t").fetchone()
    return [count, str(digest)]
with open(out, "w") as log:
    while not stop.exists():
        seen = {{"t": time.time()}}
        try:
            with duckdb.connect(str(published / "warehouse.duckdb"), read_only=True) as con:
                seen["duckdb"] = {{t: fingerprint(con, "marts." + t) for t in tables}}
            with duckdb.connect() as con:
                seen["parquet"] = {{t: fingerprint(con, f"read_parquet('{{published}}/parquet/{{t}}.parquet')")
                                   for t in tables}}
        except Exception as error:
            seen["error"] = f"{{type(error).__name__}}: {{error}}"
        log.write(json.dumps(seen) + "\\n")
        log.flush()
        time.sleep(0.1)
"""


@pytest.fixture(scope="module")
def first_build(tmp_path_factory, dbt_manifest):
    """The first publication, through the daily command: a good register and a spreadsheet saved as .csv."""
    base = tmp_path_factory.mktemp("operations")
    inbox = base / "inbox"
    (inbox / "ofsted").mkdir(parents=True)
    shutil.copy(OFSTED_FILES / REGISTER, inbox / "ofsted")
    with zipfile.ZipFile(inbox / "ofsted" / SPREADSHEET, "w") as workbook:  # what Excel's "Save" leaves
        workbook.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        workbook.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    db = base / "wh" / "warehouse.duckdb"
    started = time.monotonic()
    code, output = _build(inbox, db, base / "first.log")
    return inbox, db, code, output, time.monotonic() - started


def test_the_daily_command_exits_3_when_a_return_is_held_back(first_build):
    """A daily run through bin/warehouse (make for the setup) with one return held back (a spreadsheet saved as
    .csv). The exit code is the build's 3, not make's 2, and the published build_coverage says which return is out"""
    inbox, db, code, output, _ = first_build
    assert code == 3, output[-5000:]
    assert "Build published, with held-back or carried-forward returns (exit 3)." in output
    assert f"FAILED {inbox / 'ofsted' / SPREADSHEET}" in output and "FILE_NOT_CSV" in output
    with duckdb.connect(str(db.parent / "published" / "warehouse.duckdb"), read_only=True) as con:
        coverage = con.execute("select status, period, files from marts.build_coverage order by all").fetchall()
    assert [(status, period) for status, period, _ in coverage] == [("held_back", None), ("included", "2021-03-31")]
    assert coverage[0][2].endswith(SPREADSHEET) and coverage[1][2].endswith(REGISTER)


def test_a_killed_build_a_second_build_and_readers_during_a_build(first_build):
    """A build SIGKILLed mid-way, then a build through make while a reader queries the published marts in a loop
    and a second build of the same file starts. The published files stay byte for byte through the kill, the next
    build is not blocked by it, the second build is refused at once naming the running one, the reader sees only
    whole tables of one publication or the next with no error or lock, and every register is loaded once"""
    inbox, db, code, output, first_seconds = first_build
    assert code == 3, output[-5000:]
    base, published = db.parent.parent, db.parent / "published"
    lock = db.with_name(db.name + ".build.lock")
    shutil.copy(OFSTED_FILES / OLDER_REGISTER, inbox / "ofsted")  # the next builds publish one snapshot more
    before = _tree(published)
    (first_duckdb,), (first_parquet,) = _version_fingerprints(published)

    # 1. SIGKILL (the whole process group: the CLI and its dbt) while dbt writes the working warehouse.
    killed_log = base / "killed.log"
    killed_at = time.monotonic()
    killed = _start([str(WAREHOUSE), "build", "--inbox", str(inbox), "--db", str(db)], killed_log, _env(db.parent))
    killed_run = _wait_for(killed_log, r"build_everything - ([0-9a-f-]{36}) - dbt_staging - Running dbt command",
                           killed)[1]
    os.killpg(killed.pid, signal.SIGKILL)
    killed_after = time.monotonic() - killed_at
    assert killed.wait(timeout=60) == -signal.SIGKILL
    end = time.monotonic() + 30
    while time.monotonic() < end:  # its dbt, reparented, dies with it
        try:
            os.killpg(killed.pid, 0)
            time.sleep(0.2)
        except ProcessLookupError:
            break
    else:
        raise AssertionError("processes of the killed build are still running")
    assert _tree(published) == before  # byte for byte, the DuckDB file, the versions and the parquet link
    with duckdb.connect(str(published / "warehouse.duckdb"), read_only=True) as con:
        assert {t: _fingerprint(con, f"marts.{t}") for t in READ_TABLES} == first_duckdb
    # The lock file stays with the dead build's pid in it; flock went with the process (the next build starts).
    assert lock.read_text().startswith(f"pid {killed.pid}, started ")

    # 2. The next build, through `make build`, with a reader querying the published marts all along.
    stop, observations = base / "stop-reading", base / "reader.jsonl"
    reader = _start([sys.executable, "-c", READER, str(published), str(stop), str(observations)],
                    base / "reader.log", os.environ)
    _wait_for(observations, r'"duckdb"', reader, timeout=60)
    make_log = base / "make-build.log"
    started = time.time()
    make_build = _start(["make", "--no-print-directory", "build", f"INBOX={inbox}", f"DB={db}"], make_log,
                        _env(db.parent))
    running = _wait_for(make_log, r"Building .* \(pid (\d+); lock (.*)\)", make_build)
    assert running[2] == str(lock) and int(running[1]) != killed.pid

    # 3. A second build of the same DuckDB file meanwhile: refused at once, naming the running build.
    second = subprocess.run([str(WAREHOUSE), "build", "--inbox", str(inbox), "--db", str(db)], cwd=REPO,
                            env=_env(db.parent), capture_output=True, text=True, timeout=300)
    second_output = second.stdout + second.stderr
    assert make_build.poll() is None, "the build finished before the second one was tried: nothing was shown"
    assert second.returncode == 1, second_output[-3000:]
    holder = re.search(rf"Another build of {re.escape(str(db))} is running \(pid (\d+), started (\S+); lock ",
                       second_output)
    assert holder, second_output[-3000:]
    assert int(holder[1]) == int(running[1])
    assert started - 5 <= datetime.fromisoformat(holder[2]).timestamp() <= time.time()
    assert "nothing new was published" in second_output and "Building" not in second_output

    code, output = _finish(make_build, make_log)
    finished = time.time()
    stop.touch()
    reader.wait(timeout=60)
    # make reports the build's 3 as its own 2 (documented): the build published, with the spreadsheet held back.
    assert code == 2, output[-5000:]
    assert "Build published, with held-back or carried-forward returns (exit 3)." in output
    assert re.search(r"make: \*\*\* \[.*build\] Error 3", output), output[-2000:]
    # Dagster had kept the killed run's slot in the warehouse pool: this build freed it (else it waited for ever).
    assert f"Run {killed_run} of an earlier build of this file never finished (killed)" in output

    versions_duckdb, versions_parquet = _version_fingerprints(published)
    assert versions_duckdb[0] == first_duckdb and versions_parquet[0] == first_parquet
    assert len(versions_duckdb) == 2  # the first build's and this one's; the killed build published nothing
    with duckdb.connect(str(published / "warehouse.duckdb"), read_only=True) as con:
        snapshots = [d.isoformat() for (d,) in con.execute(
            "select distinct snapshot_date from marts.mart_market_supply order by 1").fetchall()]
    assert snapshots == ["2019-03-31", "2021-03-31"]

    # The reader: no error, no lock, and every answer a whole table of one publication or the other.
    seen = [json.loads(line) for line in observations.read_text().splitlines()]
    assert [s["error"] for s in seen if "error" in s] == []
    during = [s for s in seen if started <= s["t"] <= finished]
    print(f"\nfirst build {first_seconds:.0f} s; killed {killed_after:.0f} s in; make build "
          f"{finished - started:.0f} s, {len(during)} reader rounds during it")
    assert len(during) >= 20 and seen[0]["t"] < started  # and it read until after the build (stop came after)
    for s in seen:
        assert s["duckdb"] in versions_duckdb, s  # the tables of one query come from one publication
        for table, fingerprint in s["parquet"].items():
            assert fingerprint in [v[table] for v in versions_parquet], (table, s)
    assert seen[0]["duckdb"] == versions_duckdb[0] and seen[-1]["duckdb"] == versions_duckdb[1]
    assert seen[0]["parquet"] == versions_parquet[0] and seen[-1]["parquet"] == versions_parquet[1]

    # The working warehouse after a killed build and a refused one: each register landed once, whole.
    with duckdb.connect(str(db), read_only=True) as con:
        loads = con.execute("select file_name, count(*) filter (where status like 'loaded%'), "
                            "max(rows_read) filter (where status like 'loaded%') "
                            "from audit.load_log group by 1 order by 1").fetchall()
        raw_snapshots = con.execute("select reference_date::varchar, count(*) from raw.ofsted_providers "
                                    "group by 1 order by 1").fetchall()
    older, register = _records(inbox / "ofsted" / OLDER_REGISTER), _records(inbox / "ofsted" / REGISTER)
    assert loads == [(OLDER_REGISTER, 1, older), (REGISTER, 1, register), (SPREADSHEET, 0, None)], loads
    assert raw_snapshots == [("2019-03-31", older), ("2021-03-31", register)]

"""Session fixtures: a dbt manifest, the demo region generated into a temporary inbox beside the bundled Ofsted
files (with its ground truth), and a warehouse built from that inbox by the real CLI and Dagster job."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
INBOX = REPO / "inbox"
OFSTED_FILES = REPO / "inbox" / "ofsted"
sys.path.insert(0, str(REPO))


@dataclass
class Build:
    db: Path
    returncode: int
    output: str

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.db), read_only=True)


def run_build(inbox: Path, db: Path, extra_env: dict | None = None, exports: str = "none",
              docs: bool = False) -> Build:
    """The CLI behind `make build`, in a subprocess, with its own Dagster instance beside the DuckDB file.

    Exports, reports and docs take a minute a build: only the builds whose tests read them write them
    (exports: WAREHOUSE_EXPORTS, "" = every grouping as in production; docs: WAREHOUSE_DOCS)."""
    dagster_home = db.parent / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "WAREHOUSE_EXPORTS": exports,
           "WAREHOUSE_DOCS": "1" if docs else "0", **(extra_env or {})}
    env.pop("WAREHOUSE_DB", None)
    env.pop("WAREHOUSE_INBOX", None)
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "build", "--inbox", str(inbox), "--db", str(db)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )
    (db.parent / "build.log").write_text(completed.stdout + completed.stderr)
    return Build(db, completed.returncode, completed.stdout + completed.stderr)


def _manifest_is_stale(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    project = REPO / "dbt_project"
    return any(path.stat().st_mtime > built for folder in ("models", "macros", "seeds", "tests")
               for path in (project / folder).rglob("*") if path.is_file()) or \
        (project / "dbt_project.yml").stat().st_mtime > built


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """Dagster loads the dbt manifest with the definitions: parse the project when it changed since the last parse
    (`make test` parses first), once, under a lock: pytest workers run builds that read it meanwhile."""
    manifest = REPO / "dbt_project" / "target" / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _manifest_is_stale(manifest):
            subprocess.run(
                [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet", "--profiles-dir", "."],
                cwd=REPO / "dbt_project", check=True, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            )
    return manifest


# Tests run on two pytest-xdist workers (--dist loadgroup): the tests reading one expensive build share a worker,
# so that each build is made once; the other tests of a module share one, for its module-scoped fixtures.
GROUPS = {"demo_build": "demo-build", "region_builds": "region-builds"}


def pytest_itemcollected(item):
    # Marked as each test is collected: by pytest_collection_modifyitems xdist has already read the marks into the
    # tests' ids, and the groups were silently ignored (every session build was made on both workers).
    group = next((g for fixture, g in GROUPS.items() if fixture in item.fixturenames), item.path.stem)
    item.add_marker(pytest.mark.xdist_group(group))


@dataclass
class DemoRegion:
    inbox: Path
    truth: Path


def generate_demo_region(base: Path, *args: str) -> DemoRegion:
    """`python -m demo` as users run it (default region unless args say otherwise), plus the bundled Ofsted files."""
    inbox, truth = base / "inbox", base / "truth"
    subprocess.run(
        [sys.executable, "-m", "demo", "--out", str(inbox), "--truth", str(truth), "--quiet", *args],
        cwd=REPO, check=True, timeout=900,
    )
    shutil.copytree(OFSTED_FILES, inbox / "ofsted", dirs_exist_ok=True)  # python -m demo copies them too
    return DemoRegion(inbox, truth)


@pytest.fixture(scope="session")
def demo_region(tmp_path_factory) -> DemoRegion:
    return generate_demo_region(tmp_path_factory.mktemp("demo-region"))


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory, dbt_manifest, demo_region) -> Build:
    # A developer iterating on tests of the demo build may point at one already built (never set in CI).
    reuse = os.environ.get("WAREHOUSE_TEST_DEMO_BUILD")
    if reuse:
        db = Path(reuse)
        log = db.parent / "build.log"
        return Build(db, 0, log.read_text() if log.exists() else "")
    db = tmp_path_factory.mktemp("demo") / "warehouse.duckdb"
    return run_build(demo_region.inbox, db, exports="", docs=True)  # everything a production build writes


@pytest.fixture(scope="session")
def warehouse_db(demo_build) -> str:
    """Absolute path of the DuckDB file built from the bundled inbox; the build must have succeeded."""
    assert demo_build.returncode == 0, demo_build.output[-6000:]
    return str(demo_build.db)


@pytest.fixture()
def con(warehouse_db):
    connection = duckdb.connect(warehouse_db, read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def macros():
    """A DuckDB connection with the parsing macros every finance source shares (ingest/spend_macros.sql)."""
    from ingest.spend_sql import install_macros

    connection = duckdb.connect()
    install_macros(connection)
    yield connection
    connection.close()

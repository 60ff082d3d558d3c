"""Where the warehouse lives: paths from the environment, made absolute once for every process we start."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Another copy of the dbt project (a patched model under test, an analyst's branch) can be run against the same
# warehouse by pointing WAREHOUSE_DBT_PROJECT_DIR at it.
DBT_PROJECT_DIR = Path(os.environ.get("WAREHOUSE_DBT_PROJECT_DIR") or REPO_ROOT / "dbt_project").resolve()
WAREHOUSE_POOL = "warehouse"  # DuckDB allows one writer: every step that opens the file shares this pool


def warehouse_db() -> Path:
    path = Path(os.environ.get("WAREHOUSE_DB") or REPO_ROOT / "warehouse" / "warehouse.duckdb").expanduser()
    path = path if path.is_absolute() else (Path.cwd() / path)
    # dbt-duckdb resolves a relative path from the profiles folder, so dbt always gets the absolute one.
    os.environ["WAREHOUSE_DB"] = str(path)
    return path


def inbox_dir() -> Path:
    path = Path(os.environ.get("WAREHOUSE_INBOX") or REPO_ROOT / "inbox").expanduser()
    return path if path.is_absolute() else (Path.cwd() / path)


def build_dir() -> Path:
    """Folder beside the DuckDB file for what a build leaves: docs, GX results."""
    return warehouse_db().parent


def docs_dir() -> Path:
    return build_dir() / "docs"


def gx_root() -> Path:
    return build_dir() / "gx"

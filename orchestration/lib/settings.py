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


def published_dir() -> Path:
    return build_dir() / "published"


def published_versions_kept() -> int:
    """How many published versions stay under warehouse/published/versions/ (WAREHOUSE_PUBLISHED_VERSIONS)."""
    return max(1, int(os.environ.get("WAREHOUSE_PUBLISHED_VERSIONS") or 7))


def exports_dir() -> Path:
    return build_dir() / "exports"


def reports_dir() -> Path:
    return build_dir() / "reports"


def export_groupings() -> set[str] | None:
    """Which groupings get exports and a report (WAREHOUSE_EXPORTS: names or folder names, comma-separated;
    `none` for none). Unset: every region and configured consortium."""
    value = (os.environ.get("WAREHOUSE_EXPORTS") or "").strip()
    if not value:
        return None
    return {part.strip().lower() for part in value.split(",") if part.strip()} - {"none"}


def memory_limit() -> str:
    """DuckDB's memory_limit for every connection to the warehouse and for dbt (WAREHOUSE_MEMORY_LIMIT, e.g. 8GB;
    default 60% of the machine's memory). Beyond it DuckDB spills to a temporary folder beside the database file,
    so a 2 GB ledger lands on a small machine. Exported, so that dbt's profile reads the same value."""
    value = (os.environ.get("WAREHOUSE_MEMORY_LIMIT") or "").strip()
    if not value:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        value = f"{max(1, int(total * 0.6 / 2**20))}MB"
        os.environ["WAREHOUSE_MEMORY_LIMIT"] = value
    return value


def export_sheet_rows() -> int:
    """Rows a workbook sheet holds at most (WAREHOUSE_EXPORT_SHEET_ROWS, default 10,000): a longer table is whole
    in the grouping's CSV and Parquet, and its sheet says how many rows are there only. Excel's own limit is
    1,048,576 rows; writing a workbook costs Python time per cell, so a national set's long lists (the spend review
    list) would take minutes a grouping."""
    return max(1, int(os.environ.get("WAREHOUSE_EXPORT_SHEET_ROWS") or 10_000))


def build_docs() -> bool:
    """Whether a build writes the dbt docs and GX Data Docs sites (WAREHOUSE_DOCS=0 skips them; default yes)."""
    return (os.environ.get("WAREHOUSE_DOCS") or "1").strip().lower() not in ("0", "no", "false", "off")

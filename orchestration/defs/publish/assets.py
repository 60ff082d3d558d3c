"""The last good build's marts, published for regional leads: a read-only copy swapped in atomically.

Downstream of every mart and of the blocking mart checks, so a build whose dbt tests or GX suites fail
never replaces what was published before. Each publication is also kept whole under
published/versions/<build time>/ (the DuckDB file and a Parquet file per mart), the newest N of them
(WAREHOUSE_PUBLISHED_VERSIONS, default 7), so that an auditor can compare two days; published/parquet points at
the newest version's Parquet files and is swapped in as one symlink.
"""

import os
import shutil
from datetime import datetime, timezone

import dagster as dg
import duckdb

from orchestration.defs.warehouse_dbt.assets import DBT_ASSETS
from orchestration.lib import settings
from orchestration.lib.warehouse import WarehouseResource, sql_path

MART_KEYS = [key for assets in DBT_ASSETS for key in assets.keys if key.path[0] == "marts"]


def published_path():
    return settings.published_dir() / "warehouse.duckdb"


def _swap_symlink(link, target) -> None:
    """link -> target, replaced with one rename: a reader resolves the old target or the new one."""
    temporary = link.with_name(f".{link.name}.new")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, link)


def _keep_newest_versions(versions) -> list[str]:
    kept = sorted((p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    for old in kept[settings.published_versions_kept():]:
        shutil.rmtree(old, ignore_errors=True)
    return [p.name for p in kept[:settings.published_versions_kept()]]


@dg.asset(
    key=["published", "marts"],
    deps=MART_KEYS,
    group_name="published",
    kinds={"duckdb"},
    pool=settings.WAREHOUSE_POOL,
    description="warehouse/published/warehouse.duckdb: every table of schema marts from the last good build.",
)
def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    target = published_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging_copy = target.with_name(f".warehouse-{context.run_id}.duckdb")
    staging_copy.unlink(missing_ok=True)
    con = duckdb.connect(str(staging_copy))
    try:
        con.execute(f"attach {sql_path(warehouse.db)} as warehouse (read_only)")
        con.execute("create schema marts")
        tables = [row[0] for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'warehouse' and table_schema = 'marts' order by 1"
        ).fetchall()]
        rows = {}
        for table in tables:
            con.execute(f"create table marts.{table} as select * from warehouse.marts.{table}")
            rows[table] = con.execute(f"select count(*) from marts.{table}").fetchone()[0]
        not_as_sent = con.execute(
            "select status, source, coalesce(la_name, la_gss_code, 'national'), period, check_names "
            "from marts.build_coverage where status in ('held_back', 'carried_forward') order by 1, 2, 3, 4"
        ).fetchall() if "build_coverage" in tables else []
        con.execute("detach warehouse")
    finally:
        con.close()
    # The version first, whole, then the swaps: a version folder is complete before anything points at it.
    built_at = datetime.now(timezone.utc)
    versions = target.parent / "versions"
    version = versions / built_at.strftime("%Y-%m-%dT%H%M%S.%fZ")
    building = versions / f".{version.name}.building"
    (building / "parquet").mkdir(parents=True)
    shutil.copyfile(staging_copy, building / "warehouse.duckdb")
    con = duckdb.connect(str(staging_copy), read_only=True)
    try:
        for table in tables:  # names from the catalog of the file just written
            con.execute(f"copy marts.{table} to {sql_path(building / 'parquet' / (table + '.parquet'))} "
                        "(format parquet)")
    finally:
        con.close()
    (building / "warehouse.duckdb").chmod(0o444)
    building.rename(version)
    os.replace(staging_copy, target)  # readers see the old file or the new one, never half of one
    target.chmod(0o444)
    _swap_symlink(target.parent / "parquet", version.relative_to(target.parent) / "parquet")
    kept = _keep_newest_versions(versions)
    if not_as_sent:
        context.log.warning(f"published with {len(not_as_sent)} return(s) held back or carried forward")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(target)),
        "version": dg.MetadataValue.path(str(version)),
        "versions_kept": dg.MetadataValue.md(", ".join(kept)),
        "returns_not_as_sent": dg.MetadataValue.md(
            "\n".join(f"- {status}: {source} {la} {period} ({checks})"
                       for status, source, la, period, checks in not_as_sent) or "none"),
        **rows,
    })

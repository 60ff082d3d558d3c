"""The last good build's marts, published for regional leads: a read-only copy swapped in atomically.

Downstream of every mart and of the blocking mart checks, so a build whose dbt tests or GX suites fail
never replaces what was published before.
"""

import os

import dagster as dg
import duckdb

from orchestration.defs.warehouse_dbt.assets import DBT_ASSETS
from orchestration.lib import settings
from orchestration.lib.warehouse import WarehouseResource

MART_KEYS = [key for assets in DBT_ASSETS for key in assets.keys if key.path[0] == "marts"]


def published_path():
    return settings.build_dir() / "published" / "warehouse.duckdb"


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
        con.execute(f"attach '{warehouse.db}' as warehouse (read_only)")
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
    os.replace(staging_copy, target)  # readers see the old file or the new one, never half of one
    target.chmod(0o444)
    if not_as_sent:
        context.log.warning(f"published with {len(not_as_sent)} return(s) held back or carried forward")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(target)),
        "returns_not_as_sent": dg.MetadataValue.md(
            "\n".join(f"- {status}: {source} {la} {period} ({checks})"
                       for status, source, la, period, checks in not_as_sent) or "none"),
        **rows,
    })

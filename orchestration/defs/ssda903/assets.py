"""SSDA903 returns: every table under <inbox>/ssda903/<LA>/<YYYY>/ landed into raw.ssda903_* with its audit trail."""


import dagster as dg

from ingest import audit, ssda903
from orchestration.lib import settings
from orchestration.lib.warehouse import WarehouseResource

RAW_TABLES = {
    "episodes": dg.AssetKey(["raw", "ssda903_episodes"]),
    "header": dg.AssetKey(["raw", "ssda903_header"]),
    "uasc": dg.AssetKey(["raw", "ssda903_uasc"]),
    "other": dg.AssetKey(["raw", "ssda903_other"]),
}
DESCRIPTIONS = {
    "episodes": "SSDA903 episodes as returned, one row per return x child x episode, child id hashed, "
    "postcodes cut to their district.",
    "header": "SSDA903 header rows: sex, month of birth, ethnicity per child and return.",
    "uasc": "SSDA903 UASC table: unaccompanied asylum-seeking children per return.",
    "other": "The other SSDA903 tables (reviews, missing, oc2, oc3, ad1, placed for adoption, previous "
    "permanence), one row per source row with its fields as JSON.",
}


@dg.multi_asset(
    name="ssda903_returns",
    specs=[
        dg.AssetSpec(key, group_name="raw", kinds={"duckdb", "csv"}, description=DESCRIPTIONS[name])
        for name, key in RAW_TABLES.items()
    ],
    pool=settings.WAREHOUSE_POOL,
    can_subset=False,
)
def ssda903_returns(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    folder = warehouse.inbox_dir / "ssda903"
    with warehouse.connect() as con:
        ssda903.ensure_raw_tables(con)
        outcomes = ssda903.load_folder(con, folder, context.run_id) if folder.exists() else []
        totals = {
            name: con.execute(f"select count(*) from {key.path[0]}.{key.path[1]}").fetchone()[0]
            for name, key in RAW_TABLES.items()
        }
    failed = [o for o in outcomes if o.status == audit.FAILED]
    for outcome in failed:
        context.log.error(f"{outcome.path}: {outcome.error}")
    for name, key in RAW_TABLES.items():
        mine = [o for o in outcomes if (o.kind if o.kind in RAW_TABLES else "other") == name
                and o.status in audit.GOOD_STATUSES]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "rows_in_table": totals[name],
                "files_loaded_now": len(mine),
                "rows_loaded_now": sum(o.rows_loaded for o in mine),
                "rows_quarantined_now": sum(o.rows_quarantined for o in mine),
                "files_failed_now": dg.MetadataValue.md(
                    "\n".join(f"- `{o.path}`: {o.error}" for o in failed) or "none"
                ),
            },
        )

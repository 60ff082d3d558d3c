"""The Ofsted register: every CSV in <inbox>/ofsted/ landed into raw.ofsted_* with its audit trail."""


import dagster as dg

from ingest import audit, ofsted
from orchestration.lib import settings
from orchestration.lib.warehouse import WarehouseResource

RAW_TABLES = {
    "provider_level": dg.AssetKey(["raw", "ofsted_providers"]),
    "places": dg.AssetKey(["raw", "ofsted_places"]),
    "closed_homes": dg.AssetKey(["raw", "ofsted_closed_homes"]),
}


@dg.multi_asset(
    name="ofsted_register",
    specs=[
        dg.AssetSpec(RAW_TABLES["provider_level"], group_name="raw", kinds={"duckdb", "csv"},
                     description="Ofsted provider-level files as read, one row per file x URN, with provenance."),
        dg.AssetSpec(RAW_TABLES["places"], group_name="raw", kinds={"duckdb", "csv"},
                     description="Ofsted places files as read."),
        dg.AssetSpec(RAW_TABLES["closed_homes"], group_name="raw", kinds={"duckdb", "csv"},
                     description="Ofsted closed children's homes files as read."),
    ],
    pool=settings.WAREHOUSE_POOL,
    can_subset=False,
)
def ofsted_register(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    folder = warehouse.inbox_dir / "ofsted"
    with warehouse.connect() as con:
        ofsted.ensure_raw_tables(con)
        outcomes = ofsted.load_folder(con, folder, context.run_id) if folder.exists() else []
        totals = {
            kind: con.execute(f"select count(*) from raw.{ofsted.column_spec().table(kind)}").fetchone()[0]
            for kind in RAW_TABLES
        }
    failed = [o for o in outcomes if o.status == audit.FAILED]
    for outcome in failed:
        context.log.error(f"{outcome.path}: {outcome.error}")
    if not folder.exists():
        context.log.warning(f"no Ofsted folder in the inbox: {folder}")
    for kind, key in RAW_TABLES.items():
        mine = [o for o in outcomes if o.kind == kind and o.status in audit.GOOD_STATUSES]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "rows_in_table": totals[kind],
                "files_loaded_now": len(mine),
                "rows_loaded_now": sum(o.rows_loaded for o in mine),
                "rows_quarantined_now": sum(o.rows_quarantined for o in mine),
                "files_failed_now": dg.MetadataValue.md(
                    "\n".join(f"- `{o.path.name}`: {o.error}" for o in failed) or "none"
                ),
            },
        )

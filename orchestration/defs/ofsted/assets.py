"""The Ofsted register: every CSV in <inbox>/ofsted/ landed into raw.ofsted_* with its audit trail."""


import dagster as dg

from ingest import ofsted
from orchestration.lib import settings
from orchestration.lib.ingest_results import ingest_results
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
    if not folder.exists():
        context.log.warning(f"no Ofsted folder in the inbox: {folder}")
    yield from ingest_results(context, outcomes, RAW_TABLES, totals)

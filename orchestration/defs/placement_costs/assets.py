"""Placement-cost extracts: every file under <inbox>/placement_costs/<LA>/ landed into raw.placement_costs."""


import dagster as dg

from ingest import placement_costs
from orchestration.lib import settings
from orchestration.lib.ingest_results import ingest_results
from orchestration.lib.warehouse import WarehouseResource

RAW_TABLES = {"placement_costs": dg.AssetKey(["raw", "placement_costs"])}


@dg.multi_asset(
    name="placement_cost_extracts",
    specs=[
        dg.AssetSpec(
            RAW_TABLES["placement_costs"], group_name="raw", kinds={"duckdb", "csv"},
            description="Placement-level weekly cost extracts as landed: one row per placement and financial year, "
            "placement reference hashed, amounts and dates parsed, placement type mapped to its canonical code.",
        )
    ],
    pool=settings.WAREHOUSE_POOL,
    can_subset=False,
)
def placement_cost_extracts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    folder = warehouse.inbox_dir / "placement_costs"
    with warehouse.connect() as con:
        placement_costs.ensure_raw_tables(con)
        outcomes = placement_costs.load_folder(con, folder, context.run_id) if folder.exists() else []
        totals = {"placement_costs": con.execute("select count(*) from raw.placement_costs").fetchone()[0]}
    yield from ingest_results(context, outcomes, RAW_TABLES, totals, table_of=lambda o: "placement_costs")

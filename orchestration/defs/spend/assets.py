"""Spend over £500: every file under <inbox>/spend/<LA>/ landed into raw.spend_lines with its audit trail."""


import dagster as dg

from ingest import spend
from orchestration.lib import settings
from orchestration.lib.ingest_results import ingest_results
from orchestration.lib.warehouse import WarehouseResource

RAW_TABLES = {"spend_over_500": dg.AssetKey(["raw", "spend_lines"])}


@dg.multi_asset(
    name="spend_files",
    specs=[
        dg.AssetSpec(
            RAW_TABLES["spend_over_500"], group_name="raw", kinds={"duckdb", "csv"},
            description="Councils' spend over £500 files: one row per published ledger line, columns mapped to the "
            "canonical ledger by ingest/spend_columns.yml, amount and date parsed, with the file's period and "
            "provenance.",
        )
    ],
    pool=settings.WAREHOUSE_POOL,
    can_subset=False,
)
def spend_files(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    folder = warehouse.inbox_dir / "spend"
    with warehouse.connect() as con:
        spend.ensure_raw_tables(con)
        outcomes = spend.load_folder(con, folder, context.run_id) if folder.exists() else []
        totals = {"spend_over_500": con.execute("select count(*) from raw.spend_lines").fetchone()[0]}
    yield from ingest_results(context, outcomes, RAW_TABLES, totals, table_of=lambda o: "spend_over_500")

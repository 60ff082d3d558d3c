"""SSDA903 returns: every table under <inbox>/ssda903/<LA>/<YYYY>/ landed into raw.ssda903_* with its audit trail."""


import dagster as dg

from ingest import ssda903
from orchestration.lib import settings
from orchestration.lib.ingest_results import ingest_results
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
    yield from ingest_results(context, outcomes, RAW_TABLES, totals,
                              table_of=lambda o: o.kind if o.kind in RAW_TABLES else "other")


@dg.asset(
    key=["audit", "ssda903_rule_failures"],
    deps=[*RAW_TABLES.values(), dg.AssetKey(["audit", "included_files"]),
          dg.AssetKey(["intermediate", "int_provider_register_periods"])],
    group_name="audit",
    kinds={"duckdb"},
    pool=settings.WAREHOUSE_POOL,
    description="The error report of every SSDA903 return, in the shape of the DfE validator's: one row per rule a "
    "row breaks (child hash, table, file, row, rule code, severity, message). Row rules are recorded as each file "
    "is landed; the return rules (cross-table, sequence, URN against the Ofsted register) are judged here, over "
    "every stored return, once the register is built. `python -m orchestration.cli ssda903-errors` writes one "
    "LA's report as CSV.",
)
def ssda903_rule_failures(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    broken: list[str] = []
    with warehouse.connect() as con:
        try:
            judged = ssda903.judge_returns(con, context.run_id)
        except ssda903.ReturnRulesFailed as error:
            # the report stands without those rules: it never stops the build
            context.log.error(str(error))
            judged, broken = error.recorded, error.broken
        by_rule = dict(con.execute(
            "select rule_code, count(*) from audit.ssda903_rule_failures group by all order by 1").fetchall())
    return dg.MaterializeResult(metadata={"return_rule_failures": judged, "failures_by_rule": by_rule,
                                          "rules_not_judged": broken})

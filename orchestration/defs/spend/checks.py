"""GX suites for spend over £500: raw lines per LA, staged transactions per LA, the LA spend mart reconciled."""

import dagster as dg

from expectations import spend as suites
from orchestration.defs.spend.assets import RAW_TABLES
from orchestration.lib.gx_checks import gx_asset_check

raw_spend_check = gx_asset_check(
    name="gx_raw_spend_lines",
    asset=RAW_TABLES["spend_over_500"],
    suite=suites.raw_spend_suite,
    batches_sql=suites.RAW_BATCHES,
    batch_sql=suites.RAW_BATCH,
    source="spend",
    holds_back=True,
    description="Each LA's landed spend lines: required canonical fields found (payment date, amount), amounts "
    "numeric and their published text a number, provenance present.",
)
staging_spend_check = gx_asset_check(
    name="gx_staging_spend_lines",
    asset=dg.AssetKey(["staging", "stg_spend__lines"]),
    suite=suites.staging_spend_suite,
    batches_sql=suites.STAGING_BATCHES,
    batch_sql=suites.STAGING_BATCH,
    source="spend",
    holds_back=True,
    description="Each LA's transactions: dated inside their file's period (or flagged DATE_OUTSIDE_PERIOD), no "
    "transaction kept from two overlapping files.",
)
mart_la_spend_check = gx_asset_check(
    name="gx_marts_la_spend_reconciles",
    asset=dg.AssetKey(["marts", "mart_la_spend"]),
    suite=suites.mart_la_spend_suite,
    batches_sql=None,
    batch_sql=suites.MART_LA_SPEND_RECONCILIATION,
    source="spend",
    description="Per LA x financial year: spend in the mart equals the sum of its classified ledger lines and of "
    "the staged transactions, to the penny; every transaction counted once.",
    additional_deps=[dg.AssetKey(["intermediate", "int_spend__lines_classified"])],
)

CHECKS = [raw_spend_check, staging_spend_check, mart_la_spend_check]

"""GX suites for placement-cost extracts: each landed file, each staged financial year, the mart against staging."""

import dagster as dg

from expectations import placement_costs as suites
from orchestration.defs.placement_costs.assets import RAW_TABLES
from orchestration.lib.gx_checks import gx_asset_check

STAGED = dg.AssetKey(["staging", "stg_placement_costs__placements"])

raw_check = gx_asset_check(
    name="gx_raw_placement_costs",
    asset=RAW_TABLES["placement_costs"],
    suite=suites.raw_placement_costs_suite,
    batches_sql=suites.RAW_BATCHES,
    batch_sql=suites.RAW_BATCH,
    source="placement_costs",
    holds_back=True,
    description="Each landed extract: required columns, hashed placement keys, costs present, numeric (whole "
    "pennies) and not negative, known placement types and routes, one row per placement and year.",
)
staging_check = gx_asset_check(
    name="gx_staging_placement_costs",
    asset=STAGED,
    suite=suites.staging_placements_suite,
    batches_sql=suites.STAGING_BATCHES,
    batch_sql=suites.STAGING_BATCH,
    source="placement_costs",
    holds_back=True,
    description="Each financial year: end not before start, contributions add up to the weekly cost to the penny, "
    "one row per placement and year after the latest extract won.",
)
mart_check = gx_asset_check(
    name="gx_marts_placement_costs_reconciles",
    asset=dg.AssetKey(["marts", "mart_placement_costs"]),
    suite=suites.mart_placement_costs_suite,
    batches_sql=None,
    batch_sql=suites.MART_RECONCILIATION,
    source="placement_costs",
    description="Per LA x year x placement type: placements, bed nights and weekly cost totals equal the staged "
    "rows (nights recounted from staged dates); contribution shares between 0 and 1; placements excluding "
    "crisis never above placements.",
    additional_deps=[STAGED],
)

CHECKS = [raw_check, staging_check, mart_check]

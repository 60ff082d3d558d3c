"""GX suites for SSDA903 returns at the ingest-to-dbt boundary: one batch per landed file."""

import dagster as dg

from expectations import ssda903 as suites
from orchestration.defs.ssda903.assets import RAW_TABLES
from orchestration.lib.gx_checks import gx_asset_check

raw_episodes_check = gx_asset_check(
    name="gx_raw_ssda903_episodes",
    asset=RAW_TABLES["episodes"],
    suite=suites.raw_episodes_suite,
    batches_sql=suites.RAW_EPISODES_BATCHES,
    batch_sql=suites.RAW_EPISODES_BATCH,
    source="ssda903",
    holds_back=True,
    description="Each landed episodes file: hashed child ids, valid DECOM/DEC in order, PLACE codes "
    "(DfE 141, 356, 146), code lists and URN/postcode forms (143-149, 178, 1008, 392c).",
)
raw_header_check = gx_asset_check(
    name="gx_raw_ssda903_header",
    asset=RAW_TABLES["header"],
    suite=suites.raw_header_suite,
    batches_sql=suites.RAW_HEADER_BATCHES,
    batch_sql=suites.RAW_HEADER_BATCH,
    source="ssda903",
    holds_back=True,
    description="Each landed header file: one row per child (INT32), month of birth (102), sex and ethnicity codes.",
)
raw_uasc_check = gx_asset_check(
    name="gx_raw_ssda903_uasc",
    asset=RAW_TABLES["uasc"],
    suite=suites.raw_uasc_suite,
    batches_sql=suites.RAW_UASC_BATCHES,
    batch_sql=suites.RAW_UASC_BATCH,
    source="ssda903",
    holds_back=True,
    description="Each landed UASC file: one row per child (INT36), month of birth present.",
)

CHECKS = [raw_episodes_check, raw_header_check, raw_uasc_check]

la_sufficiency_check = gx_asset_check(
    name="gx_marts_la_sufficiency_reconciles",
    asset=dg.AssetKey(["marts", "mart_la_sufficiency"]),
    suite=suites.la_sufficiency_reconciliation_suite,
    batches_sql=None,
    batch_sql=suites.LA_SUFFICIENCY_RECONCILIATION,
    source="ssda903",
    description="Per LA x 31 March: every child counted once (the mart equals the distinct children in open "
    "spells, and the placement mix adds up to it); shares between 0 and 1.",
    additional_deps=[dg.AssetKey(["intermediate", "int_placement_spells_joined"])],
)
residential_occupancy_check = gx_asset_check(
    name="gx_marts_residential_occupancy",
    asset=dg.AssetKey(["marts", "mart_residential_occupancy"]),
    suite=suites.residential_occupancy_suite,
    batches_sql=suites.RESIDENTIAL_OCCUPANCY_BATCHES,
    batch_sql=suites.RESIDENTIAL_OCCUPANCY_BATCH,
    source="ssda903",
    description="Per year of months: children in an LA's children's homes never above their places; share of "
    "places taken by the LA's own children between 0 and 1.",
)

staging_episodes_check = gx_asset_check(
    name="gx_staging_ssda903_episodes",
    asset=dg.AssetKey(["staging", "stg_ssda903__episodes"]),
    suite=suites.staging_episodes_suite,
    batches_sql=suites.STAGING_EPISODES_BATCHES,
    batch_sql=suites.STAGING_EPISODES_BATCH,
    source="ssda903",
    holds_back=True,
    description="Per LA x collection year of the staged episodes (latest return wins): no episode ending before "
    "it starts (DfE 356), one row per child and start, no child in two episodes open on 31 March, every row "
    "naming its return, URNs where the placement type needs one (218).",
)

CHECKS += [staging_episodes_check, la_sufficiency_check, residential_occupancy_check]

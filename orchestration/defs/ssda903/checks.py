"""GX suites for SSDA903 returns at the ingest-to-dbt boundary: one batch per landed file."""

from expectations import ssda903 as suites
from orchestration.defs.ssda903.assets import RAW_TABLES
from orchestration.lib.gx_checks import gx_asset_check

raw_episodes_check = gx_asset_check(
    name="gx_raw_ssda903_episodes",
    asset=RAW_TABLES["episodes"],
    suite=suites.raw_episodes_suite,
    batches_sql=suites.RAW_EPISODES_BATCHES,
    batch_sql=suites.RAW_EPISODES_BATCH,
    description="Each landed episodes file: hashed child ids, valid DECOM/DEC in order, PLACE codes "
    "(DfE 141, 356, 146), code lists and URN/postcode forms (143-149, 178, 1008, 392c).",
)
raw_header_check = gx_asset_check(
    name="gx_raw_ssda903_header",
    asset=RAW_TABLES["header"],
    suite=suites.raw_header_suite,
    batches_sql=suites.RAW_HEADER_BATCHES,
    batch_sql=suites.RAW_HEADER_BATCH,
    description="Each landed header file: one row per child (INT32), month of birth (102), sex and ethnicity codes.",
)
raw_uasc_check = gx_asset_check(
    name="gx_raw_ssda903_uasc",
    asset=RAW_TABLES["uasc"],
    suite=suites.raw_uasc_suite,
    batches_sql=suites.RAW_UASC_BATCHES,
    batch_sql=suites.RAW_UASC_BATCH,
    description="Each landed UASC file: one row per child (INT36), month of birth present.",
)

CHECKS = [raw_episodes_check, raw_header_check, raw_uasc_check]

"""GX suites for the Ofsted register at the ingest-to-dbt boundary and after staging and marts."""

from __future__ import annotations

import dagster as dg

from expectations import ofsted as suites
from orchestration.defs.ofsted.assets import RAW_TABLES
from orchestration.lib.gx_checks import gx_asset_check

raw_providers_check = gx_asset_check(
    name="gx_raw_ofsted_providers",
    asset=RAW_TABLES["provider_level"],
    suite=suites.raw_providers_suite,
    batches_sql=suites.RAW_PROVIDERS_BATCHES,
    batch_sql=suites.RAW_PROVIDERS_BATCH,
    description="Each landed provider-level file: required columns, not empty, URN present and unique.",
)

staging_providers_check = gx_asset_check(
    name="gx_staging_ofsted_providers",
    asset=dg.AssetKey(["staging", "stg_ofsted__providers"]),
    suite=suites.staging_providers_suite,
    batches_sql=suites.STAGING_PROVIDERS_BATCHES,
    batch_sql=suites.STAGING_PROVIDERS_BATCH,
    description="Each snapshot: URN format, known provision types and sectors, places in bounds, "
    "registration date not after the snapshot.",
)

market_supply_check = gx_asset_check(
    name="gx_marts_market_supply_reconciles",
    asset=dg.AssetKey(["marts", "mart_market_supply"]),
    suite=suites.market_supply_reconciliation_suite,
    batches_sql=None,
    batch_sql=suites.MARKET_SUPPLY_RECONCILIATION,
    description="Providers, children's homes and places per snapshot equal the staged register's totals.",
    additional_deps=[dg.AssetKey(["staging", "stg_ofsted__providers"]), dg.AssetKey(["staging", "stg_ofsted__places"])],
)

CHECKS = [raw_providers_check, staging_providers_check, market_supply_check]

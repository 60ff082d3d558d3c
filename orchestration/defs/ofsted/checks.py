"""GX suites for the Ofsted register at the ingest-to-dbt boundary and after staging and marts."""

from __future__ import annotations

import dagster as dg

from expectations import ofsted as suites
from orchestration.defs.ofsted.assets import RAW_TABLES
from orchestration.lib import settings
from orchestration.lib.gx_checks import gx_asset_check
from orchestration.lib.warehouse import WarehouseResource

raw_providers_check = gx_asset_check(
    name="gx_raw_ofsted_providers",
    asset=RAW_TABLES["provider_level"],
    suite=suites.raw_providers_suite,
    batches_sql=suites.RAW_PROVIDERS_BATCHES,
    batch_sql=suites.RAW_PROVIDERS_BATCH,
    source="ofsted",
    holds_back=True,
    description="Each landed provider-level file: required columns, not empty, URN present and unique.",
)

staging_providers_check = gx_asset_check(
    name="gx_staging_ofsted_providers",
    asset=dg.AssetKey(["staging", "stg_ofsted__providers"]),
    suite=suites.staging_providers_suite,
    batches_sql=suites.STAGING_PROVIDERS_BATCHES,
    batch_sql=suites.STAGING_PROVIDERS_BATCH,
    source="ofsted",
    holds_back=True,
    description="Each snapshot: URN format, known sectors, places in bounds, registration date not after the "
    "snapshot (unknown provision types only warn: provision_types_known).",
)

market_supply_check = gx_asset_check(
    name="gx_marts_market_supply_reconciles",
    asset=dg.AssetKey(["marts", "mart_market_supply"]),
    suite=suites.market_supply_reconciliation_suite,
    batches_sql=None,
    batch_sql=suites.MARKET_SUPPLY_RECONCILIATION,
    source="ofsted",
    description="Providers, children's homes and places per snapshot equal the staged register's totals.",
    additional_deps=[dg.AssetKey(["staging", "stg_ofsted__providers"]), dg.AssetKey(["staging", "stg_ofsted__places"])],
)


@dg.asset_check(
    name="provision_types_known",
    asset=dg.AssetKey(["staging", "stg_ofsted__providers"]),
    description="Provision types the seed ofsted_provision_types does not know: kept and counted under their own "
    "label (a register is never held back for that alone); a warning names each label and its count.",
    pool=settings.WAREHOUSE_POOL,
)
def provision_types_known(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        unknown = con.execute(
            "select snapshot_date, provision_type, count(*) from staging.stg_ofsted__providers "
            "where not is_known_provision_type group by all order by 1, 2"
        ).fetchall()
    listed = "\n".join(f"- {snapshot}: '{label}' x {count}" for snapshot, label, count in unknown)
    return dg.AssetCheckResult(
        passed=not unknown,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(unknown)} provision type label(s) not in the seed ofsted_provision_types, kept under "
                     "their own label: add them to the seed" if unknown else "every provision type is known"),
        metadata={"unknown_provision_types": dg.MetadataValue.md(listed or "none")},
    )


CHECKS = [raw_providers_check, staging_providers_check, market_supply_check, provision_types_known]

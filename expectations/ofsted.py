"""GX suites for the Ofsted register at each layer, with the SQL that gives each suite its batches.

raw: one batch per landed file; staging: one batch per snapshot; marts: one reconciliation row per snapshot,
aggregated in DuckDB first. No batch is ever a whole large table.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from ingest.ofsted import URN_PATTERN

SECTORS = ["Private", "Voluntary", "Local Authority", "Health Authority", "Academy"]
MAX_PLACES = 2000  # the largest registered settings (residential colleges) hold several hundred places


def raw_providers_suite() -> gx.ExpectationSuite:
    required = ["urn", "provision_type", "local_authority", "reference_date", "source_file", "file_sha256",
                "source_row_number", "load_id"]
    return gx.ExpectationSuite(
        name="raw_ofsted_providers",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=required, exact_match=False),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToNotBeNull(column="urn"),
            gxe.ExpectColumnValuesToBeUnique(column="urn"),
            gxe.ExpectColumnValuesToNotBeNull(column="source_row_number"),
            gxe.ExpectColumnValuesToNotBeNull(column="reference_date"),
            gxe.ExpectColumnValuesToNotBeNull(column="provision_type", mostly=0.99),
        ],
    )


# Batches come from the load log, so a file that landed no rows at all is a batch too (and fails).
RAW_PROVIDERS_BATCHES = """
    select sha256, path from audit.load_log
    where source = 'ofsted' and kind = 'provider_level' and status in ('loaded', 'loaded_with_quarantine')
    order by path
"""
RAW_PROVIDERS_BATCH = "select * from raw.ofsted_providers where file_sha256 = ?"


def staging_providers_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="staging_ofsted_providers",
        expectations=[
            gxe.ExpectColumnValuesToMatchRegex(column="urn", regex=URN_PATTERN),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["file_sha256", "urn"]),
            gxe.ExpectColumnValuesToBeInSet(column="sector", value_set=SECTORS, mostly=0.99),
            gxe.ExpectColumnValuesToBeBetween(column="places", min_value=0, max_value=MAX_PLACES),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="snapshot_date", column_B="registration_date", or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
        ],
    )


STAGING_PROVIDERS_BATCHES = "select distinct snapshot_date from staging.stg_ofsted__providers order by 1"
STAGING_PROVIDERS_BATCH = """
    select urn, file_sha256, provision_type, sector, places, snapshot_date, registration_date
    from staging.stg_ofsted__providers where snapshot_date = ?
"""


def market_supply_reconciliation_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="marts_market_supply_reconciles",
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToNotBeNull(column="mart_providers"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="staged_providers", column_B="mart_providers"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="staged_childrens_homes", column_B="mart_childrens_homes"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="staged_places", column_B="mart_places"),
        ],
    )


# Staged totals counted straight from staging (the last loaded file per snapshot), not through the
# intermediate models the mart is built from.
MARKET_SUPPLY_RECONCILIATION = """
    with staged_files as (
        select snapshot_date, file_sha256,
               dense_rank() over (partition by snapshot_date order by load_id desc, file_sha256 desc) as file_rank
        from (select distinct snapshot_date, file_sha256, load_id from staging.stg_ofsted__providers)
    ),
    staged_places_files as (
        select snapshot_date, file_sha256,
               dense_rank() over (partition by snapshot_date order by load_id desc, file_sha256 desc) as file_rank
        from (select distinct snapshot_date, file_sha256, load_id from staging.stg_ofsted__places)
    ),
    staged as (
        select p.snapshot_date,
               count(*) as staged_providers,
               count(*) filter (where p.registered_as_childrens_home) as staged_childrens_homes,
               coalesce(sum(coalesce(p.places, pl.places)), 0) as staged_places
        from staging.stg_ofsted__providers p
        join staged_files f on f.file_sha256 = p.file_sha256 and f.snapshot_date = p.snapshot_date and f.file_rank = 1
        left join (
            select pl.* from staging.stg_ofsted__places pl
            join staged_places_files pf on pf.file_sha256 = pl.file_sha256 and pf.snapshot_date = pl.snapshot_date
             and pf.file_rank = 1
        ) pl on pl.snapshot_date = p.snapshot_date and pl.urn = p.urn
        group by p.snapshot_date
    ),
    mart as (
        select snapshot_date,
               sum(providers) as mart_providers,
               sum(providers) filter (where registered_as_childrens_home) as mart_childrens_homes,
               sum(places) as mart_places
        from marts.mart_market_supply group by snapshot_date
    )
    select staged.*, mart.mart_providers, coalesce(mart.mart_childrens_homes, 0) as mart_childrens_homes,
           mart.mart_places
    from staged left join mart using (snapshot_date)
    order by snapshot_date
"""

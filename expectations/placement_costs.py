"""GX suites for placement-cost extracts: raw (one batch per landed file), staging (one batch per financial year)
and the mart (aggregated in DuckDB first, checked against the staged rows). Rule codes of the ingest are in `meta`.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from ingest.placement_costs import PLACEMENT_KEY_PATTERN, placement_types

PROVENANCE = ["la_gss_code", "financial_year", "source_file", "file_sha256", "source_row_number", "load_id"]
AMOUNTS = ["weekly_cost", "social_care_contribution", "education_contribution", "health_contribution"]
ROUTES = ["framework", "block", "spot", "other"]


def _rule(code: str, note: str = "") -> dict:
    return {"ingest_rule": code, **({"note": note} if note else {})}


def raw_placement_costs_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="raw_placement_costs",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(
                column_set=["placement_key", "placement_type", "start_date", "end_date", *AMOUNTS, "is_crisis",
                            *PROVENANCE], exact_match=False),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToMatchRegex(column="placement_key", regex=PLACEMENT_KEY_PATTERN,
                                               meta={"note": "keyed hash only: no raw placement reference is stored"}),
            *[gxe.ExpectColumnValuesToNotBeNull(column=a, meta=_rule("COST_MISSING")) for a in AMOUNTS],
            *[gxe.ExpectColumnValuesToBeBetween(column=a, min_value=0, meta=_rule("COST_NEGATIVE")) for a in AMOUNTS],
            gxe.ExpectColumnValuesToNotBeNull(column="start_date", meta=_rule("START_DATE_INVALID")),
            gxe.ExpectColumnValuesToBeInSet(column="placement_type", value_set=sorted(set(placement_types().values())),
                                            meta=_rule("UNKNOWN_PLACEMENT_TYPE")),
            gxe.ExpectColumnValuesToBeInSet(column="commissioning_route", value_set=ROUTES),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["placement_key", "financial_year"],
                                                meta=_rule("DUPLICATE_PLACEMENT")),
        ],
    )


def _raw_costs_numeric() -> str:
    # Amounts as pennies: whole numbers, so a value that is not an amount (or has fractions of a penny) fails.
    return ", ".join(f"cast({a} * 100 as bigint) as {a}" for a in AMOUNTS)


RAW_BATCHES = """
    select sha256, path from audit.load_log
    where source = 'placement_costs' and status in ('loaded', 'loaded_with_quarantine')
    order by path
"""
RAW_BATCH = f"""
    select * exclude ({', '.join(AMOUNTS)}), {_raw_costs_numeric()}
    from raw.placement_costs where file_sha256 = ?
"""


def staging_placements_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="staging_placement_costs",
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end_date", column_B="start_date", or_equal=True,
                                                        ignore_row_if="either_value_is_missing",
                                                        meta=_rule("END_BEFORE_START")),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="weekly_cost_pennies", column_B="contributions_pennies",
                                                meta=_rule("CONTRIBUTIONS_MISMATCH", "to the penny")),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["placement_key", "financial_year"],
                                                meta={"note": "one row per placement and year: latest extract wins"}),
            gxe.ExpectColumnValuesToNotBeNull(column="is_crisis"),
            gxe.ExpectColumnValuesToBeBetween(column="extracts_reporting", min_value=1),
        ],
    )


STAGING_BATCHES = "select distinct financial_year from staging.stg_placement_costs__placements order by 1"
STAGING_BATCH = """
    select placement_key, financial_year, start_date, end_date, is_crisis, extracts_reporting,
           cast(weekly_cost * 100 as bigint) as weekly_cost_pennies,
           cast((social_care_contribution + education_contribution + health_contribution) * 100 as bigint)
             as contributions_pennies, file_sha256
    from staging.stg_placement_costs__placements where financial_year = ?
"""


def mart_placement_costs_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="marts_placement_costs_reconciles",
        expectations=[  # no row count floor: an inbox without cost extracts is a legal inbox
            gxe.ExpectColumnValuesToBeBetween(column="social_care_share", min_value=0, max_value=1),
            gxe.ExpectColumnValuesToBeBetween(column="education_share", min_value=0, max_value=1),
            gxe.ExpectColumnValuesToBeBetween(column="health_share", min_value=0, max_value=1),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="placements", column_B="placements_excl_crisis",
                                                        or_equal=True),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="placements", column_B="staged_placements"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="bed_nights", column_B="staged_bed_nights",
                                                meta={"note": "nights inside the year, recounted from staged dates"}),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="weekly_cost_pennies", column_B="staged_weekly_cost_pennies"),
        ],
    )


# Per LA x financial year x placement type: the mart's rows added up, against the staged rows counted again here
# (nights recounted from the staged dates, not from the intermediate model the mart is built on).
MART_RECONCILIATION = """
    with mart as (
        select la_gss_code, financial_year, placement_type,
               sum(placements) as placements,
               coalesce(sum(placements) filter (where not is_crisis), 0) as placements_excl_crisis,
               sum(bed_nights) as bed_nights,
               cast(sum(total_weekly_cost) * 100 as bigint) as weekly_cost_pennies,
               coalesce(sum(total_social_care_contribution) / nullif(sum(total_weekly_cost), 0), 0)
                 as social_care_share,
               coalesce(sum(total_education_contribution) / nullif(sum(total_weekly_cost), 0), 0) as education_share,
               coalesce(sum(total_health_contribution) / nullif(sum(total_weekly_cost), 0), 0) as health_share
        from marts.mart_placement_costs group by all
    ),
    staged as (
        select la_gss_code, financial_year, placement_type, count(*) as staged_placements,
               sum(greatest(0, date_diff('day',
                   greatest(start_date, make_date(cast(left(financial_year, 4) as integer), 4, 1)),
                   least(coalesce(end_date, make_date(cast(left(financial_year, 4) as integer) + 1, 4, 1)),
                         make_date(cast(left(financial_year, 4) as integer) + 1, 4, 1))))) as staged_bed_nights,
               cast(sum(weekly_cost) * 100 as bigint) as staged_weekly_cost_pennies
        from staging.stg_placement_costs__placements group by all
    )
    select coalesce(m.la_gss_code, s.la_gss_code) as la_gss_code,
           coalesce(m.financial_year, s.financial_year) as financial_year,
           coalesce(m.placement_type, s.placement_type) as placement_type,
           coalesce(m.placements, 0) as placements, coalesce(m.placements_excl_crisis, 0) as placements_excl_crisis,
           coalesce(m.bed_nights, 0) as bed_nights, coalesce(m.weekly_cost_pennies, 0) as weekly_cost_pennies,
           coalesce(m.social_care_share, 0) as social_care_share,
           coalesce(m.education_share, 0) as education_share, coalesce(m.health_share, 0) as health_share,
           coalesce(s.staged_placements, 0) as staged_placements, coalesce(s.staged_bed_nights, 0) as staged_bed_nights,
           coalesce(s.staged_weekly_cost_pennies, 0) as staged_weekly_cost_pennies
    from mart as m
    full outer join staged as s using (la_gss_code, financial_year, placement_type)
"""

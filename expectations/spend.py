"""GX suites for the spend-over-£500 source: raw (per LA, the landed lines), staging (per LA, the transactions
kept after repeats across files are set aside) and marts (per LA x financial year, aggregated in DuckDB first).
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

PROVENANCE = ["la_gss_code", "source_file", "file_sha256", "source_row_number", "load_id"]
REQUIRED = ["payment_date", "amount"]
# Amount text as councils write it: £, thousands commas, spaces, a credit in brackets / with a minus either side
# / marked CR. Written here independently of the parsing macro, as a second opinion on what was let in.
AMOUNT_TEXT = r"^\s*[-(]?\s*(£|Â£)?\s*-?\s*[0-9][0-9, ]*(\.[0-9]*)?\s*\)?\s*-?\s*(CR|DR|cr|dr)?\s*$"


def raw_spend_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="raw_spend_lines",
        expectations=[
            gxe.ExpectTableColumnsToMatchSet(column_set=[*REQUIRED, "amount_text", "date_text", *PROVENANCE],
                                             exact_match=False),
            gxe.ExpectColumnValuesToNotBeNull(column="payment_date", meta={"rule": "DATE_MISSING / DATE_INVALID"}),
            gxe.ExpectColumnValuesToNotBeNull(column="amount", meta={"rule": "AMOUNT_MISSING / AMOUNT_NOT_NUMBER"}),
            gxe.ExpectColumnValuesToBeInTypeList(column="amount", type_list=["float64", "float"],
                                                 meta={"note": "amounts are numeric"}),
            gxe.ExpectColumnValuesToMatchRegex(column="amount_text", regex=AMOUNT_TEXT,
                                               meta={"note": "the published text of every landed amount is a number"}),
            gxe.ExpectColumnValuesToNotBeNull(column="source_row_number"),
            gxe.ExpectColumnValuesToNotBeNull(column="source_file"),
            gxe.ExpectColumnValuesToMatchRegex(column="la_gss_code", regex=r"^E[0-9]{8}$"),
        ],
    )


# One batch per LA (one GX run for all its ledger files, each a return of its own): a failing row holds back its
# file alone (file_sha256).
RAW_BATCHES = "select distinct la_gss_code from raw.spend_lines order by 1"
RAW_BATCH = """
    select la_gss_code, payment_date, cast(amount as double) as amount, amount_text, date_text, source_file,
           file_sha256, source_row_number, load_id
    from raw.spend_lines where la_gss_code = ?
"""


def staging_spend_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="staging_spend_lines",
        expectations=[
            # dated inside the file's period, or carrying the DATE_OUTSIDE_PERIOD warning the load log explains
            gxe.ExpectColumnValuesToBeInSet(column="in_period_or_flagged", value_set=[True]),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="is_outside_period", column_B="is_flagged_outside"),
            # no transaction counted twice: the nth copy of a transaction in a file is kept from one file only
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["la_gss_code", "line_key", "occurrence_in_file"],
                                                meta={"note": "no duplicate transaction per body"}),
            gxe.ExpectColumnValuesToMatchRegex(column="financial_year", regex=r"^20[0-9]{2}-[0-9]{2}$"),
        ],
    )


STAGING_BATCHES = "select distinct la_gss_code from staging.stg_spend__lines order by 1"
STAGING_BATCH = """
    select la_gss_code, line_key, occurrence_in_file, financial_year, is_outside_period,
           payment_date between period_start and period_end
             or coalesce(warning_rules, '') like '%DATE_OUTSIDE_PERIOD%' as in_period_or_flagged,
           coalesce(warning_rules, '') like '%DATE_OUTSIDE_PERIOD%' as is_flagged_outside, file_sha256
    from staging.stg_spend__lines where la_gss_code = ? and not is_repeat
"""


def mart_la_spend_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="marts_la_spend_reconciles",
        expectations=[  # no row count floor: an inbox without spend files is a legal inbox
            gxe.ExpectColumnPairValuesToBeEqual(column_A="mart_pennies", column_B="classified_pennies",
                                                meta={"note": "spend by LA equals its classified lines, to the penny"}),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="mart_pennies", column_B="staged_pennies",
                                                meta={"note": "every kept transaction is classified once"}),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="mart_transactions", column_B="staged_transactions"),
        ],
    )


# One row per LA x financial year: the mart against its classified ledger lines and against the staged
# transactions (each summed here in whole pennies, independently of the mart's SQL).
MART_LA_SPEND_RECONCILIATION = """
    with mart as (
        select la_gss_code, financial_year, cast(round(sum(spend) * 100) as bigint) as mart_pennies,
               sum(transactions) as mart_transactions
        from marts.mart_la_spend group by all
    ),
    classified as (
        select la_gss_code, financial_year, cast(round(sum(amount) * 100) as bigint) as classified_pennies
        from intermediate.int_spend__lines_classified group by all
    ),
    staged as (
        select la_gss_code, financial_year, cast(round(sum(amount) * 100) as bigint) as staged_pennies,
               count(*) as staged_transactions
        from staging.stg_spend__lines where not is_repeat group by all
    )
    select la_gss_code, financial_year,
           coalesce(mart.mart_pennies, 0) as mart_pennies,
           coalesce(classified.classified_pennies, 0) as classified_pennies,
           coalesce(staged.staged_pennies, 0) as staged_pennies,
           coalesce(mart.mart_transactions, 0) as mart_transactions,
           coalesce(staged.staged_transactions, 0) as staged_transactions
    from mart
    full join classified using (la_gss_code, financial_year)
    full join staged using (la_gss_code, financial_year)
"""

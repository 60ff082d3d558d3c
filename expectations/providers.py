"""GX suite for the provider-group spend marts: one row per region or consortium x financial year, aggregated in
SQL from the marts (never the whole mart in pandas)."""

import great_expectations as gx
import great_expectations.expectations as gxe


def provider_group_spend_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name="marts_provider_group_spend",
        expectations=[  # no row count floor: an inbox without spend files is a legal inbox
            gxe.ExpectColumnValuesToBeBetween(column="min_share", min_value=0, max_value=1,
                                              meta={"note": "every group paid a net positive sum has a share in [0, 1]"}),
            gxe.ExpectColumnValuesToBeBetween(column="max_share", min_value=0, max_value=1),
            gxe.ExpectColumnValuesToBeBetween(column="sum_share", min_value=0.999999, max_value=1.000001,
                                              meta={"note": "shares sum to 1 per grouping and year"}),
            gxe.ExpectColumnValuesToBeInSet(column="ranks_unique", value_set=[True],
                                            meta={"note": "ranks are 1..n, each once"}),
            gxe.ExpectColumnValuesToBeBetween(column="hhi_above_floor", min_value=-0.000001,
                                              meta={"note": "HHI >= 10,000 / number of groups"}),
            gxe.ExpectColumnValuesToBeBetween(column="hhi", min_value=0, max_value=10000.000001),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="provider_groups", column_B="group_rows",
                                                meta={"note": "the concentration mart counts every group row"}),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="concentration_pennies", column_B="la_spend_pennies",
                                                meta={"note": "total equals mart_la_spend over the same LAs, "
                                                              "children's placement categories, to the penny"}),
        ],
    )


# One row per grouping x financial year that has spend in either mart: shares, ranks and HHI from the two new
# marts, and mart_la_spend summed here over the grouping's LAs (children's placement categories), in pennies.
PROVIDER_GROUP_SPEND_BATCH = """
    with group_rows as (
        select grouping_type, grouping_name, financial_year,
               count(*) as group_rows,
               coalesce(min(spend_share) filter (where spend > 0), 0) as min_share,
               coalesce(max(spend_share), 0) as max_share,
               coalesce(sum(spend_share), 0) as sum_share,
               count(distinct spend_rank) = count(*) and min(spend_rank) = 1 and max(spend_rank) = count(*)
                   as ranks_unique
        from marts.mart_provider_group_spend group by all
    ),
    concentration as (
        select grouping_type, grouping_name, financial_year, provider_groups, hhi,
               cast(round(total_spend * 100) as bigint) as concentration_pennies
        from marts.mart_regional_spend_concentration
    ),
    la_spend as (
        select groupings.grouping_type, groupings.grouping_name, spend.financial_year,
               cast(round(sum(spend.spend) * 100) as bigint) as la_spend_pennies
        from marts.mart_la_spend as spend
        inner join marts.bridge_local_authority_grouping as groupings using (la_gss_code)
        where spend.is_childrens_placement
        group by all
    )
    select grouping_type, grouping_name, financial_year,
           coalesce(group_rows.group_rows, 0) as group_rows,
           coalesce(group_rows.min_share, 0) as min_share,
           coalesce(group_rows.max_share, 0) as max_share,
           coalesce(group_rows.sum_share, 0) as sum_share,
           coalesce(group_rows.ranks_unique, false) as ranks_unique,
           coalesce(concentration.provider_groups, 0) as provider_groups,
           coalesce(concentration.hhi, 0) as hhi,
           coalesce(concentration.hhi, 0) - 10000.0 / greatest(coalesce(group_rows.group_rows, 1), 1)
               as hhi_above_floor,
           coalesce(concentration.concentration_pennies, 0) as concentration_pennies,
           coalesce(la_spend.la_spend_pennies, 0) as la_spend_pennies
    from group_rows
    full join concentration using (grouping_type, grouping_name, financial_year)
    full join la_spend using (grouping_type, grouping_name, financial_year)
    order by 1, 2, 3
"""

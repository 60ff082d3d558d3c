-- One row per region or consortium x financial year: how concentrated the grouping's children's placement spend
-- is across provider groups (mart_provider_group_spend): total spend, groups paid, the largest group, the top-20
-- share, CR4 and CR10 (the shares of the 4 and 10 largest), the Herfindahl-Hirschman index on the 0-10,000
-- scale (the sum of squared percentage shares) and its change on the year before; groups that 4 or more of the
-- grouping's LAs buy from; groups used by more than one LA and their share of spend; groups used by one LA.

with

group_spend as (

    select * from {{ ref('mart_provider_group_spend') }}

),

concentration as (

    select
        grouping_type,
        grouping_name,
        financial_year,
        sum(spend) as total_spend,
        count(*) as provider_groups,
        max(spend) as largest_group_spend,
        min(provider_group_name) filter (where spend_rank = 1) as largest_group_name,
        sum(spend) filter (where spend_rank <= 20) as top_20_spend,
        coalesce(sum(spend_share) filter (where spend_rank <= 4), 0) as cr4,
        coalesce(sum(spend_share) filter (where spend_rank <= 10), 0) as cr10,
        coalesce(sum(spend_share) filter (where spend_rank <= 20), 0) as top_20_share,
        sum((100 * spend_share) * (100 * spend_share)) as hhi,
        count(*) filter (where buying_las >= 4) as groups_with_4_plus_las,
        coalesce(sum(spend_share) filter (where buying_las >= 4), 0) as spend_share_with_4_plus_las_groups,
        count(*) filter (where buying_las > 1) as multi_la_groups,
        coalesce(sum(spend) filter (where buying_las > 1), 0) as multi_la_spend,
        coalesce(sum(spend_share) filter (where buying_las > 1), 0) as multi_la_spend_share,
        count(*) filter (where buying_las = 1) as single_la_groups,
        max(las_in_grouping) as las_in_grouping,
        max(las_with_spend) as las_with_spend
    from group_spend
    group by grouping_type, grouping_name, financial_year

),

final as (

    select
        grouping_type,
        grouping_name,
        financial_year,
        cast(total_spend as decimal(18, 2)) as total_spend,
        provider_groups,
        largest_group_name,
        cast(largest_group_spend as decimal(18, 2)) as largest_group_spend,
        cast(top_20_spend as decimal(18, 2)) as top_20_spend,
        top_20_share,
        cr4,
        cr10,
        hhi,
        lag(hhi) over (partition by grouping_type, grouping_name order by financial_year) as hhi_previous_year,
        hhi - lag(hhi) over (partition by grouping_type, grouping_name order by financial_year) as hhi_change,
        groups_with_4_plus_las,
        spend_share_with_4_plus_las_groups,
        multi_la_groups,
        cast(multi_la_spend as decimal(18, 2)) as multi_la_spend,
        multi_la_spend_share,
        single_la_groups,
        las_in_grouping,
        las_with_spend,
        coalesce(las_with_spend = las_in_grouping, false) as covers_every_la
    from concentration

)

select * from final

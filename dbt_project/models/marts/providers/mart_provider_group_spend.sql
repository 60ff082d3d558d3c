-- One row per region or consortium x financial year x provider group: what the grouping's LAs together paid the
-- group for children's placements (spend categories with is_childrens_placement), from their spend over £500
-- files; the group's share of that spend, its rank and the cumulative share down the ranking; the LAs buying
-- from it; spend by category; the group's children's homes and places nationally and inside the grouping, and
-- the two-way dependency: the group's share of the grouping's spend, and the grouping's share of the group's
-- places. las_with_spend against las_in_grouping says how much of the grouping the figures cover.

with

lines as (

    select * from {{ ref('int_spend__lines_classified') }}

),

categories as (

    select * from {{ ref('spend_categories') }}

),

groupings as (

    select * from {{ ref('bridge_local_authority_grouping') }}

),

groups as (

    select * from {{ ref('dim_provider_group') }}

),

providers as (

    select * from {{ ref('dim_provider') }}

),

placement_lines as (

    select lines.*
    from lines
    inner join categories
        on lines.spend_category = categories.spend_category
    where categories.is_childrens_placement

),

grouping_sizes as (

    select
        grouping_type,
        grouping_name,
        count(distinct la_gss_code) as las_in_grouping
    from groupings
    group by grouping_type, grouping_name

),

spend_by_group as (

    select
        groupings.grouping_type,
        groupings.grouping_name,
        placement_lines.financial_year,
        placement_lines.provider_group_id,
        sum(placement_lines.amount) as spend,
        count(*) as transactions,  -- noqa: RF04
        count(distinct placement_lines.la_gss_code) as buying_las,
        string_agg(distinct groupings.la_name, ', ' order by groupings.la_name) as buying_la_names,
        sum(placement_lines.amount) filter (where placement_lines.spend_category = 'children''s residential')
            as residential_spend,
        sum(placement_lines.amount) filter (where placement_lines.spend_category = 'independent fostering')
            as fostering_spend,
        sum(placement_lines.amount) filter (
            where placement_lines.spend_category = 'supported accommodation / 16+'
        ) as supported_accommodation_spend,
        sum(placement_lines.amount) filter (where placement_lines.spend_category = 'residential school / SEN')
            as residential_school_spend,
        sum(placement_lines.amount) filter (where placement_lines.spend_category = 'secure') as secure_spend
    from placement_lines
    inner join groupings
        on placement_lines.la_gss_code = groupings.la_gss_code
    group by
        groupings.grouping_type,
        groupings.grouping_name,
        placement_lines.financial_year,
        placement_lines.provider_group_id

),

grouping_years as (

    select
        spend_by_group.grouping_type,
        spend_by_group.grouping_name,
        spend_by_group.financial_year,
        sum(spend_by_group.spend) as grouping_spend
    from spend_by_group
    group by spend_by_group.grouping_type, spend_by_group.grouping_name, spend_by_group.financial_year

),

las_with_spend as (

    select
        groupings.grouping_type,
        groupings.grouping_name,
        lines.financial_year,
        count(distinct lines.la_gss_code) as las_with_spend
    from lines
    inner join groupings
        on lines.la_gss_code = groupings.la_gss_code
    group by groupings.grouping_type, groupings.grouping_name, lines.financial_year

),

places_in_grouping as (

    select
        groupings.grouping_type,
        groupings.grouping_name,
        providers.provider_group_id,
        count(*) filter (where providers.registered_as_childrens_home) as childrens_homes,
        coalesce(sum(providers.places) filter (where providers.registered_as_childrens_home), 0)
            as childrens_home_places,
        coalesce(sum(providers.places), 0) as places
    from providers
    inner join groupings
        on providers.la_gss_code = groupings.la_gss_code
    where providers.is_in_latest_snapshot
    group by groupings.grouping_type, groupings.grouping_name, providers.provider_group_id

),

ranked as (

    select
        spend_by_group.*,
        grouping_years.grouping_spend,
        row_number() over (
            partition by spend_by_group.grouping_type, spend_by_group.grouping_name, spend_by_group.financial_year
            order by spend_by_group.spend desc, spend_by_group.provider_group_id asc
        ) as spend_rank
    from spend_by_group
    inner join grouping_years
        on
            spend_by_group.grouping_type = grouping_years.grouping_type
            and spend_by_group.grouping_name = grouping_years.grouping_name
            and spend_by_group.financial_year = grouping_years.financial_year

),

final as (

    select
        ranked.grouping_type,
        ranked.grouping_name,
        ranked.financial_year,
        ranked.provider_group_id,
        groups.provider_group_name,
        groups.sector,
        groups.ownership_type,
        cast(ranked.spend as decimal(18, 2)) as spend,
        ranked.transactions,
        cast(ranked.spend as double) / nullif(ranked.grouping_spend, 0) as spend_share,
        ranked.spend_rank,
        cast(sum(ranked.spend) over (
            partition by ranked.grouping_type, ranked.grouping_name, ranked.financial_year
            order by ranked.spend_rank
            rows between unbounded preceding and current row
        ) as double) / nullif(ranked.grouping_spend, 0) as cumulative_spend_share,
        ranked.buying_las,
        ranked.buying_la_names,
        cast(coalesce(ranked.residential_spend, 0) as decimal(18, 2)) as residential_spend,
        cast(coalesce(ranked.fostering_spend, 0) as decimal(18, 2)) as fostering_spend,
        cast(coalesce(ranked.supported_accommodation_spend, 0) as decimal(18, 2)) as supported_accommodation_spend,
        cast(coalesce(ranked.residential_school_spend, 0) as decimal(18, 2)) as residential_school_spend,
        cast(coalesce(ranked.secure_spend, 0) as decimal(18, 2)) as secure_spend,
        groups.childrens_homes as childrens_homes_nationally,
        groups.childrens_home_places as childrens_home_places_nationally,
        groups.places as places_nationally,
        coalesce(places_in_grouping.childrens_homes, 0) as childrens_homes_in_grouping,
        coalesce(places_in_grouping.childrens_home_places, 0) as childrens_home_places_in_grouping,
        coalesce(places_in_grouping.places, 0) as places_in_grouping,
        cast(coalesce(places_in_grouping.places, 0) as double) / nullif(groups.places, 0)
            as grouping_share_of_group_places,
        grouping_sizes.las_in_grouping,
        las_with_spend.las_with_spend
    from ranked
    left join groups
        on ranked.provider_group_id = groups.provider_group_id
    left join places_in_grouping
        on
            ranked.grouping_type = places_in_grouping.grouping_type
            and ranked.grouping_name = places_in_grouping.grouping_name
            and ranked.provider_group_id = places_in_grouping.provider_group_id
    left join grouping_sizes
        on
            ranked.grouping_type = grouping_sizes.grouping_type
            and ranked.grouping_name = grouping_sizes.grouping_name
    left join las_with_spend
        on
            ranked.grouping_type = las_with_spend.grouping_type
            and ranked.grouping_name = las_with_spend.grouping_name
            and ranked.financial_year = las_with_spend.financial_year

)

select * from final

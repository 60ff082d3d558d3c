-- One row per LA x provider group x financial year: the market-segmentation row Somerset fills in by hand. Who
-- the group is (sector, indicative ownership type, size band by its places nationally: under 10 small, 10-25
-- medium, over 25 large); its homes and places in the LA, in the rest of the LA's region and nationally; the
-- Ofsted rating mix of its settings; what the LA paid it (spend over £500 files, children's placement
-- categories) and, from the LA's placement-cost extracts, bed nights, children placed, the average weekly cost
-- and the average new-placement fee. A row exists when the LA paid the group or placed a child with it.

with

lines as (

    select * from {{ ref('int_spend__lines_classified') }}

),

categories as (

    select * from {{ ref('spend_categories') }}

),

placement_years as (

    select * from {{ ref('int_placement_costs_in_year') }}

),

groups as (

    select * from {{ ref('dim_provider_group') }}

),

providers as (

    select * from {{ ref('dim_provider') }}

),

authorities as (

    select * from {{ ref('dim_local_authority') }}

),

spend as (

    select
        lines.la_gss_code,
        lines.provider_group_id,
        lines.financial_year,
        sum(lines.amount) as annual_spend,
        count(*) as transactions  -- noqa: RF04
    from lines
    inner join categories
        on lines.spend_category = categories.spend_category
    where categories.is_childrens_placement
    group by lines.la_gss_code, lines.provider_group_id, lines.financial_year

),

placements as (

    select
        la_gss_code,
        provider_group_id,
        financial_year,
        count(*) as placements,
        count(distinct placement_key) as children_placed,
        sum(bed_nights) as bed_nights,
        sum(weekly_cost) as total_weekly_cost,
        sum(case when started_in_year then 1 else 0 end) as new_placements,
        sum(case when started_in_year then weekly_cost else 0 end) as total_new_placement_fee,
        sum(spend_in_year) as placement_spend
    from placement_years
    group by la_gss_code, provider_group_id, financial_year

),

rows_wanted as (

    select
        la_gss_code,
        provider_group_id,
        financial_year
    from spend
    union
    select
        la_gss_code,
        provider_group_id,
        financial_year
    from placements

),

-- Each group's settings on the latest snapshot, by LA, with the LA's region.
settings as (

    select
        providers.provider_group_id,
        providers.la_gss_code,
        authorities.government_office_region_code,
        providers.registered_as_childrens_home,
        coalesce(providers.places, 0) as places,
        providers.latest_overall_effectiveness
    from providers
    left join authorities
        on providers.la_gss_code = authorities.la_gss_code
    where providers.is_in_latest_snapshot

),

ratings as (

    select
        provider_group_id,
        count(*) filter (where latest_overall_effectiveness = 'Outstanding') as rated_outstanding,
        count(*) filter (where latest_overall_effectiveness = 'Good') as rated_good,
        count(*) filter (where latest_overall_effectiveness = 'Requires improvement to be good')
            as rated_requires_improvement,
        count(*) filter (where latest_overall_effectiveness = 'Inadequate') as rated_inadequate,
        count(*) filter (where latest_overall_effectiveness is null) as not_yet_rated
    from settings
    group by provider_group_id

),

located as (

    select
        rows_wanted.la_gss_code,
        rows_wanted.provider_group_id,
        count(*) filter (where settings.la_gss_code = rows_wanted.la_gss_code and settings.registered_as_childrens_home)
            as childrens_homes_in_la,
        coalesce(sum(settings.places) filter (where settings.la_gss_code = rows_wanted.la_gss_code), 0)
            as places_in_la,
        count(*) filter (
            where
            settings.la_gss_code <> rows_wanted.la_gss_code
            and settings.government_office_region_code = authorities.government_office_region_code
            and settings.registered_as_childrens_home
        ) as childrens_homes_in_rest_of_region,
        coalesce(sum(settings.places) filter (
            where
            settings.la_gss_code <> rows_wanted.la_gss_code
            and settings.government_office_region_code = authorities.government_office_region_code
        ), 0) as places_in_rest_of_region
    from (select distinct
        la_gss_code,
        provider_group_id
    from rows_wanted) as rows_wanted
    inner join authorities
        on rows_wanted.la_gss_code = authorities.la_gss_code
    left join settings
        on rows_wanted.provider_group_id = settings.provider_group_id
    group by rows_wanted.la_gss_code, rows_wanted.provider_group_id

),

final as (

    select
        rows_wanted.la_gss_code,
        authorities.la_name,
        rows_wanted.provider_group_id,
        groups.provider_group_name,
        rows_wanted.financial_year,
        groups.sector,
        groups.ownership_type,
        groups.ownership_type_is_indicative,
        case
            when groups.places < 10 then 'small'
            when groups.places <= 25 then 'medium'
            else 'large'
        end as size_band,
        coalesce(located.childrens_homes_in_la, 0) as childrens_homes_in_la,
        coalesce(located.places_in_la, 0) as places_in_la,
        coalesce(located.childrens_homes_in_rest_of_region, 0) as childrens_homes_in_rest_of_region,
        coalesce(located.places_in_rest_of_region, 0) as places_in_rest_of_region,
        groups.childrens_homes as childrens_homes_nationally,
        groups.places as places_nationally,
        coalesce(ratings.rated_outstanding, 0) as rated_outstanding,
        coalesce(ratings.rated_good, 0) as rated_good,
        coalesce(ratings.rated_requires_improvement, 0) as rated_requires_improvement,
        coalesce(ratings.rated_inadequate, 0) as rated_inadequate,
        coalesce(ratings.not_yet_rated, 0) as not_yet_rated,
        cast(spend.annual_spend as decimal(18, 2)) as annual_spend,
        spend.transactions,
        placements.bed_nights,
        placements.children_placed,
        placements.placements,
        placements.new_placements,
        cast(placements.placement_spend as decimal(18, 2)) as placement_cost_spend,
        cast(round(placements.total_weekly_cost / nullif(placements.placements, 0), 2) as decimal(18, 2))
            as avg_weekly_cost,
        cast(round(placements.total_new_placement_fee / nullif(placements.new_placements, 0), 2) as decimal(18, 2))
            as avg_new_placement_fee
    from rows_wanted
    left join authorities
        on rows_wanted.la_gss_code = authorities.la_gss_code
    left join groups
        on rows_wanted.provider_group_id = groups.provider_group_id
    left join spend
        on
            rows_wanted.la_gss_code = spend.la_gss_code
            and rows_wanted.provider_group_id = spend.provider_group_id
            and rows_wanted.financial_year = spend.financial_year
    left join placements
        on
            rows_wanted.la_gss_code = placements.la_gss_code
            and rows_wanted.provider_group_id = placements.provider_group_id
            and rows_wanted.financial_year = placements.financial_year
    left join located
        on
            rows_wanted.la_gss_code = located.la_gss_code
            and rows_wanted.provider_group_id = located.provider_group_id
    left join ratings
        on rows_wanted.provider_group_id = ratings.provider_group_id

)

select * from final

-- Placement costs per LA x financial year x placement type x provider group x crisis flag, from the LAs'
-- placement-level cost extracts: placements (children supported), new placements, bed nights in the year,
-- annual spend, weekly cost totals and averages and the social care / education / health split. Crisis
-- placements are their own rows (is_crisis), so "excluding crisis" is `where not is_crisis`; totals are given
-- beside averages so that any roll-up (all provider groups, all types) is sum(total) / sum(placements).

with

placement_years as (

    select * from {{ ref('int_placement_costs_in_year') }}

),

authorities as (

    select * from {{ ref('dim_local_authority') }}

),

aggregated as (

    select
        la_gss_code,
        financial_year,
        placement_type,
        provider_group_id,
        is_crisis,
        any_value(provider_group_name) as provider_group_name,
        count(*) as placements,
        count(distinct placement_key) as children_supported,
        sum(case when started_in_year then 1 else 0 end) as new_placements,
        sum(bed_nights) as bed_nights,
        sum(spend_in_year) as annual_spend,
        sum(weekly_cost) as total_weekly_cost,
        sum(social_care_contribution) as total_social_care_contribution,
        sum(education_contribution) as total_education_contribution,
        sum(health_contribution) as total_health_contribution,
        sum(case when started_in_year then weekly_cost else 0 end) as total_new_placement_fee
    from placement_years
    group by la_gss_code, financial_year, placement_type, provider_group_id, is_crisis

),

final as (

    select
        aggregated.financial_year,
        aggregated.la_gss_code,
        authorities.la_name,
        aggregated.placement_type,
        aggregated.provider_group_id,
        aggregated.provider_group_name,
        'provider_organisation' as provider_group_method,
        aggregated.is_crisis,
        cast(aggregated.placements as bigint) as placements,
        cast(aggregated.children_supported as bigint) as children_supported,
        cast(aggregated.new_placements as bigint) as new_placements,
        cast(aggregated.bed_nights as bigint) as bed_nights,
        cast(aggregated.annual_spend as decimal(18, 2)) as annual_spend,
        cast(aggregated.total_weekly_cost as decimal(18, 2)) as total_weekly_cost,
        cast(aggregated.total_social_care_contribution as decimal(18, 2)) as total_social_care_contribution,
        cast(aggregated.total_education_contribution as decimal(18, 2)) as total_education_contribution,
        cast(aggregated.total_health_contribution as decimal(18, 2)) as total_health_contribution,
        cast(aggregated.total_new_placement_fee as decimal(18, 2)) as total_new_placement_fee,
        cast(round(aggregated.total_weekly_cost / aggregated.placements, 2) as decimal(18, 2)) as avg_weekly_cost,
        cast(round(aggregated.total_social_care_contribution / aggregated.placements, 2) as decimal(18, 2))
            as avg_social_care_contribution,
        cast(round(aggregated.total_education_contribution / aggregated.placements, 2) as decimal(18, 2))
            as avg_education_contribution,
        cast(round(aggregated.total_health_contribution / aggregated.placements, 2) as decimal(18, 2))
            as avg_health_contribution,
        cast(aggregated.total_social_care_contribution as double) / nullif(aggregated.total_weekly_cost, 0)
            as social_care_share,
        cast(aggregated.total_education_contribution as double) / nullif(aggregated.total_weekly_cost, 0)
            as education_share,
        cast(aggregated.total_health_contribution as double) / nullif(aggregated.total_weekly_cost, 0)
            as health_share,
        cast(round(aggregated.total_new_placement_fee / nullif(aggregated.new_placements, 0), 2) as decimal(18, 2))
            as avg_new_placement_fee
    from aggregated
    left join authorities
        on aggregated.la_gss_code = authorities.la_gss_code

)

select * from final

-- Placement costs per LA x financial year x placement type x provider group x crisis flag, from the LAs'
-- placement-level cost extracts: placements (children supported), new placements, bed nights in the year,
-- annual spend, weekly cost totals and averages and the social care / education / health split. Crisis
-- placements are their own rows (is_crisis), so "excluding crisis" is `where not is_crisis`; totals are given
-- beside averages so that any roll-up (all provider groups, all types) is sum(total) / sum(placements).
-- Averages are rounded half up to the penny in whole-penny integer arithmetic (a decimal divided in DuckDB
-- becomes a double, and 9516.345 would round down).

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
        first(provider_group_method order by provider_group_method) as provider_group_method,
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

in_pennies as (

    select
        *,
        cast(total_weekly_cost * 100 as bigint) as weekly_cost_pennies,
        cast(total_social_care_contribution * 100 as bigint) as social_care_pennies,
        cast(total_education_contribution * 100 as bigint) as education_pennies,
        cast(total_health_contribution * 100 as bigint) as health_pennies,
        cast(total_new_placement_fee * 100 as bigint) as new_placement_fee_pennies
    from aggregated

),

averaged as (

    select
        *,
        floor((2 * weekly_cost_pennies + placements) / (2.0 * placements)) as avg_weekly_cost_pennies,
        floor((2 * social_care_pennies + placements) / (2.0 * placements)) as avg_social_care_pennies,
        floor((2 * education_pennies + placements) / (2.0 * placements)) as avg_education_pennies,
        floor((2 * health_pennies + placements) / (2.0 * placements)) as avg_health_pennies,
        floor((2 * new_placement_fee_pennies + new_placements) / nullif(2.0 * new_placements, 0))
            as avg_new_placement_fee_pennies
    from in_pennies

),

final as (

    select
        aggregated.financial_year,
        aggregated.la_gss_code,
        authorities.la_name,
        aggregated.placement_type,
        aggregated.provider_group_id,
        aggregated.provider_group_name,
        aggregated.provider_group_method,
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
        cast(cast(aggregated.avg_weekly_cost_pennies as decimal(18, 0)) * 0.01 as decimal(18, 2))
            as avg_weekly_cost,
        cast(cast(aggregated.avg_social_care_pennies as decimal(18, 0)) * 0.01 as decimal(18, 2))
            as avg_social_care_contribution,
        cast(cast(aggregated.avg_education_pennies as decimal(18, 0)) * 0.01 as decimal(18, 2))
            as avg_education_contribution,
        cast(cast(aggregated.avg_health_pennies as decimal(18, 0)) * 0.01 as decimal(18, 2))
            as avg_health_contribution,
        cast(aggregated.total_social_care_contribution as double) / nullif(aggregated.total_weekly_cost, 0)
            as social_care_share,
        cast(aggregated.total_education_contribution as double) / nullif(aggregated.total_weekly_cost, 0)
            as education_share,
        cast(aggregated.total_health_contribution as double) / nullif(aggregated.total_weekly_cost, 0)
            as health_share,
        cast(cast(aggregated.avg_new_placement_fee_pennies as decimal(18, 0)) * 0.01 as decimal(18, 2))
            as avg_new_placement_fee
    from averaged as aggregated
    left join authorities
        on aggregated.la_gss_code = authorities.la_gss_code

)

select * from final

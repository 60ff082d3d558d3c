-- Each placement-year of the cost extracts measured within its financial year (1 April to 31 March): nights in
-- the year, spend in the year at the year's weekly cost, whether it started in the year, and its provider group:
-- the group its provider's name resolves to (int_provider_names_resolved), else its establishment's, else
-- 'not-recorded'; a private individual counts to its LA's 'individuals' group.

with

placements as (

    select * from {{ ref('stg_placement_costs__placements') }}

),

resolved as (

    select * from {{ ref('int_provider_names_resolved') }}

),

groups as (

    select * from {{ ref('int_provider_groups') }}

),

years as (

    select
        placements.*,
        make_date(cast(left(placements.financial_year, 4) as integer), 4, 1) as year_start_date,
        make_date(cast(left(placements.financial_year, 4) as integer) + 1, 4, 1) as next_year_start_date,
        coalesce(
            case
                when by_provider.link_method = 'individual' then 'individuals-' || placements.la_gss_code
                else by_provider.group_id
            end,
            by_establishment.group_id,
            'not-recorded'
        ) as provider_group_id,
        coalesce(
            by_provider.link_method,
            'establishment ' || by_establishment.link_method,
            'not recorded'
        ) as provider_group_method
    from placements
    left join resolved as by_provider
        on {{ organisation_key('placements.provider') }} = by_provider.match_key
    left join resolved as by_establishment
        on {{ organisation_key('placements.establishment') }} = by_establishment.match_key

),

measured as (

    select
        *,
        greatest(
            date_diff(
                'day',
                greatest(start_date, year_start_date),
                least(coalesce(end_date, next_year_start_date), next_year_start_date)
            ),
            0
        ) as bed_nights
    from years

),

named as (

    select
        measured.*,
        coalesce(groups.provider_group_name, 'Provider not recorded') as provider_group_name
    from measured
    left join groups
        on measured.provider_group_id = groups.provider_group_id

),

final as (

    select
        la_gss_code,
        financial_year,
        placement_key,
        placement_type,
        provider_group_id,
        provider_group_name,
        provider_group_method,
        provider,
        establishment,
        urn,
        commissioning_route,
        is_crisis,
        start_date,
        end_date,
        coalesce(start_date >= year_start_date and start_date < next_year_start_date, false)
            as started_in_year,
        bed_nights,
        weekly_cost,
        social_care_contribution,
        education_contribution,
        health_contribution,
        cast(round(weekly_cost * bed_nights / 7.0, 2) as decimal(18, 2)) as spend_in_year,
        source_file,
        source_row_number
    from named

)

select * from final

-- Each placement-year of the cost extracts measured within its financial year (1 April to 31 March): nights in
-- the year, spend in the year at the year's weekly cost, whether it started in the year, and its provider group.
-- Until provider groups are resolved (dim_provider_group), a placement's group is its provider organisation:
-- the provider name reduced to lower-case letters and digits (so 'KEYS CHILD CARE LTD.' and 'Keys Child Care
-- Ltd' meet), named by its first spelling in alphabetical order.

with

placements as (

    select * from {{ ref('stg_placement_costs__placements') }}

),

years as (

    select
        *,
        make_date(cast(left(financial_year, 4) as integer), 4, 1) as year_start_date,
        make_date(cast(left(financial_year, 4) as integer) + 1, 4, 1) as next_year_start_date,
        coalesce(
            nullif(regexp_replace(lower(provider), '[^a-z0-9]+', '', 'g'), ''), 'notrecorded'
        ) as provider_key
    from placements

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

final as (

    select
        la_gss_code,
        financial_year,
        placement_key,
        placement_type,
        'org:' || provider_key as provider_group_id,
        coalesce(
            min(provider) over (partition by provider_key), 'Provider not recorded'
        ) as provider_group_name,
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
    from measured

)

select * from final

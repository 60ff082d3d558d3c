-- How far from home the loaded LAs' children live on 31 March, by placement type and provider type.

with

collection_years as (

    select * from {{ ref('int_collection_years') }}

),

spells as (

    select * from {{ ref('int_placement_spells_joined') }}

),

authorities as (

    select * from {{ ref('dim_local_authority') }}

),

open_at_31_march as (

    select
        collection_years.collection_year,
        spells.la_gss_code,
        spells.placement_type,
        spells.provider_type,
        spells.distance_miles
    from collection_years
    inner join spells
        on
            collection_years.la_gss_code = spells.la_gss_code
            and collection_years.as_at_date >= spells.start_date
            and (spells.end_date is null or collection_years.as_at_date < spells.end_date)

),

counted as (

    select
        collection_year,
        la_gss_code,
        placement_type,
        provider_type,
        count(*) as placements,
        count(distance_miles) as with_distance,
        sum(case when distance_miles > 20 then 1 else 0 end) as over_20_miles,
        percentile_cont(0.5) within group (order by distance_miles) as median_miles
    from open_at_31_march
    group by collection_year, la_gss_code, placement_type, provider_type

),

final as (

    select
        counted.collection_year,
        counted.la_gss_code,
        authorities.la_name,
        counted.placement_type,
        counted.provider_type,
        cast(counted.placements as bigint) as placements,
        cast(counted.with_distance as bigint) as with_distance,
        cast(counted.over_20_miles as bigint) as over_20_miles,
        cast(counted.over_20_miles as double) / nullif(counted.with_distance, 0) as share_over_20_miles,
        counted.median_miles
    from counted
    left join authorities
        on counted.la_gss_code = authorities.la_gss_code

)

select * from final

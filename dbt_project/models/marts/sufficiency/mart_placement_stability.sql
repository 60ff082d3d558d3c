-- Placement stability: of each loaded LA's children looked after on 31 March, how many placements (spells) each
-- had during the collection year (spells open on some day from 1 April to 31 March).

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

looked_after as (

    select distinct
        collection_years.la_gss_code,
        collection_years.collection_year,
        spells.child_id
    from collection_years
    inner join spells
        on
            collection_years.la_gss_code = spells.la_gss_code
            and collection_years.as_at_date >= spells.start_date
            and (spells.end_date is null or collection_years.as_at_date < spells.end_date)

),

placements_in_year as (

    select
        looked_after.la_gss_code,
        looked_after.collection_year,
        looked_after.child_id,
        count(*) as placements
    from looked_after
    inner join collection_years
        on
            looked_after.la_gss_code = collection_years.la_gss_code
            and looked_after.collection_year = collection_years.collection_year
    inner join spells
        on
            looked_after.la_gss_code = spells.la_gss_code
            and looked_after.child_id = spells.child_id
            and collection_years.as_at_date >= spells.start_date
            and (spells.end_date is null or collection_years.year_start_date < spells.end_date)
    group by looked_after.la_gss_code, looked_after.collection_year, looked_after.child_id

),

counted as (

    select
        la_gss_code,
        collection_year,
        count(*) as children_looked_after,
        sum(case when placements = 1 then 1 else 0 end) as one_placement,
        sum(case when placements = 2 then 1 else 0 end) as two_placements,
        sum(case when placements >= 3 then 1 else 0 end) as three_or_more_placements
    from placements_in_year
    group by la_gss_code, collection_year

),

final as (

    select
        collection_years.collection_year,
        collection_years.la_gss_code,
        authorities.la_name,
        cast(coalesce(counted.children_looked_after, 0) as bigint) as children_looked_after,
        cast(coalesce(counted.one_placement, 0) as bigint) as one_placement,
        cast(coalesce(counted.two_placements, 0) as bigint) as two_placements,
        cast(coalesce(counted.three_or_more_placements, 0) as bigint) as three_or_more_placements,
        cast(counted.three_or_more_placements as double) / nullif(counted.children_looked_after, 0)
            as share_three_or_more
    from collection_years
    left join authorities
        on collection_years.la_gss_code = authorities.la_gss_code
    left join counted
        on
            collection_years.la_gss_code = counted.la_gss_code
            and collection_years.collection_year = counted.collection_year

)

select * from final

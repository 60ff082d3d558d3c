-- Children's homes in each loaded LA month by month: homes and places registered at the month's end, the LA's own
-- children living in them that day, other LAs' children there, and the LA's bed nights in them in the month.

with

months as (

    select * from {{ ref('int_collection_months') }}

),

spells as (

    select * from {{ ref('int_placement_spells_joined') }}

),

lineage as (

    select * from {{ ref('int_local_authority_lineage') }}

),

-- children's homes registered at each month's end, with the code of their authority in force that day
registrations as (

    select
        registered.month,
        registered.month_end_date,
        registered.urn,
        registered.places,
        registered.la_gss_code as current_la_gss_code,
        {{ la_code_as_of('lineage', 'registered.month_end_date') }} as la_gss_code
    from {{ ref('int_provider_registrations_by_month') }} as registered
    inner join lineage
        on registered.la_gss_code = lineage.la_gss_code
    where registered.registered_as_childrens_home

),

bed_nights as (

    select * from {{ ref('int_bed_nights_by_month') }}

),

authorities as (

    select * from {{ ref('dim_local_authority') }}

),

homes as (

    select
        la_gss_code,
        month,  -- noqa: RF04
        count(*) as childrens_homes,
        coalesce(sum(places), 0) as places
    from registrations
    group by la_gss_code, month

),

-- children in the LA's registered children's homes at the month's end, by placing LA (each placing LA's spells
-- counted only in the months of its own returns)
residents as (

    select distinct
        registrations.la_gss_code as home_la_gss_code,
        registrations.month,
        spells.la_gss_code as placing_la_gss_code,
        spells.placing_current_la_gss_code = registrations.current_la_gss_code as is_own_child,
        spells.child_id
    from registrations
    inner join spells
        on
            registrations.urn = spells.urn
            and registrations.month_end_date >= spells.start_date
            and (spells.end_date is null or registrations.month_end_date < spells.end_date)
    inner join months as placing_months
        on
            spells.la_gss_code = placing_months.la_gss_code
            and registrations.month = placing_months.month

),

residents_counted as (

    select
        home_la_gss_code,
        month,  -- noqa: RF04
        sum(case when is_own_child then 1 else 0 end) as own_children,
        sum(case when not is_own_child then 1 else 0 end) as other_la_children
    from residents
    group by home_la_gss_code, month

),

own_bed_nights as (

    select
        bed_nights.la_gss_code,
        bed_nights.month,
        sum(bed_nights.bed_nights) as bed_nights_own
    from bed_nights
    inner join registrations
        on
            bed_nights.urn = registrations.urn
            and bed_nights.month = registrations.month
            and bed_nights.la_gss_code = registrations.la_gss_code
    group by bed_nights.la_gss_code, bed_nights.month

),

final as (

    select
        months.month,
        months.la_gss_code,
        authorities.la_name,
        months.collection_year,
        cast(coalesce(homes.childrens_homes, 0) as bigint) as childrens_homes,
        cast(coalesce(homes.places, 0) as bigint) as places,
        cast(coalesce(residents_counted.own_children, 0) as bigint) as own_children,
        cast(coalesce(residents_counted.other_la_children, 0) as bigint) as other_la_children,
        cast(coalesce(residents_counted.own_children, 0) as double) / nullif(homes.places, 0) as share_of_places_own,
        cast(coalesce(own_bed_nights.bed_nights_own, 0) as bigint) as bed_nights_own
    from months
    left join authorities
        on months.la_gss_code = authorities.la_gss_code
    left join homes
        on
            months.la_gss_code = homes.la_gss_code
            and months.month = homes.month
    left join residents_counted
        on
            months.la_gss_code = residents_counted.home_la_gss_code
            and months.month = residents_counted.month
    left join own_bed_nights
        on
            months.la_gss_code = own_bed_nights.la_gss_code
            and months.month = own_bed_nights.month

)

select * from final

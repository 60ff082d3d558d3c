-- Children placed in settings that should be registered with Ofsted but are not, month by month: placements of
-- a type that needs a URN (children's homes, secure homes, registered supported accommodation) open at the
-- month's end with no URN, or with a URN that was not a registered setting that day.

with

months as (

    select * from {{ ref('int_collection_months') }}

),

spells as (

    select * from {{ ref('int_placement_spells_joined') }}
    where needs_urn

),

registrations as (

    select * from {{ ref('int_provider_registrations_by_month') }}

),

authorities as (

    select * from {{ ref('dim_local_authority') }}

),

open_at_month_end as (

    select
        months.la_gss_code,
        months.month,
        spells.child_id,
        spells.urn is null as has_no_urn,
        spells.urn is not null and registrations.urn is null as has_unregistered_urn
    from months
    inner join spells
        on
            months.la_gss_code = spells.la_gss_code
            and months.month_end_date >= spells.start_date
            and (spells.end_date is null or months.month_end_date < spells.end_date)
    left join registrations
        on
            spells.urn = registrations.urn
            and months.month = registrations.month

),

counted as (

    select
        la_gss_code,
        month,  -- noqa: RF04
        count(*) as placements_needing_registration,
        sum(case when has_no_urn then 1 else 0 end) as no_urn,
        sum(case when has_unregistered_urn then 1 else 0 end) as urn_not_registered,
        count(distinct case when has_no_urn or has_unregistered_urn then child_id end)
            as children_unregistered
    from open_at_month_end
    group by la_gss_code, month

),

final as (

    select
        months.month,
        months.la_gss_code,
        authorities.la_name,
        months.collection_year,
        cast(coalesce(counted.placements_needing_registration, 0) as bigint) as placements_needing_registration,
        cast(coalesce(counted.no_urn, 0) as bigint) as no_urn,
        cast(coalesce(counted.urn_not_registered, 0) as bigint) as urn_not_registered,
        cast(coalesce(counted.no_urn, 0) + coalesce(counted.urn_not_registered, 0) as bigint)
            as unregistered_placements,
        cast(coalesce(counted.children_unregistered, 0) as bigint) as children_unregistered
    from months
    left join authorities
        on months.la_gss_code = authorities.la_gss_code
    left join counted
        on
            months.la_gss_code = counted.la_gss_code
            and months.month = counted.month

)

select * from final

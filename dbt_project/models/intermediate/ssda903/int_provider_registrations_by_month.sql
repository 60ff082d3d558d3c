-- One row per month x URN registered with Ofsted at the month's end: in the register snapshot in force that day,
-- not suspended, registered by then and not closed. Places are those of that snapshot.

with

register_periods as (

    select * from {{ ref('int_provider_register_periods') }}

),

months as (

    select distinct
        month,  -- noqa: RF04
        month_end_date
    from {{ ref('int_collection_months') }}

),

final as (

    select
        months.month,
        months.month_end_date,
        register_periods.urn,
        register_periods.snapshot_date,
        register_periods.provision_type,
        register_periods.registered_as_childrens_home,
        register_periods.sector,
        register_periods.places,
        register_periods.la_gss_code
    from months
    inner join register_periods
        on
            months.month_end_date >= register_periods.in_force_from
            and months.month_end_date < register_periods.in_force_until
    where
        not register_periods.is_suspended
        and (register_periods.registration_date is null or register_periods.registration_date <= months.month_end_date)
        and (register_periods.closed_date is null or register_periods.closed_date > months.month_end_date)

)

select * from final

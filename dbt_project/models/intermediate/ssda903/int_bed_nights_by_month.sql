-- One row per URN x placing LA x month: the nights in the month that the LA's placement spells with that URN
-- cover (a child arrives on the start date and leaves on the end date, so a spell covers the nights from its start
-- to the day before its end; an open spell runs to the end of the LA's last collection year).

with

spells as (

    select * from {{ ref('int_placement_spells_joined') }}
    where urn is not null

),

months as (

    select * from {{ ref('int_collection_months') }}

),

spell_months as (

    select
        spells.urn,
        spells.la_gss_code,
        spells.child_id,
        months.month,
        case when spells.start_date > months.month then spells.start_date else months.month end as from_date,
        case
            when spells.end_date is not null and spells.end_date <= months.month_end_date then spells.end_date
            else cast(months.month_end_date + interval '1 day' as date)
        end as until_date
    from spells
    inner join months
        on
            spells.la_gss_code = months.la_gss_code
            and spells.start_date <= months.month_end_date
            and (spells.end_date is null or spells.end_date > months.month)

),

final as (

    select
        urn,
        la_gss_code,
        month,  -- noqa: RF04
        cast(sum({{ days_between('from_date', 'until_date') }}) as bigint) as bed_nights,
        count(distinct child_id) as children
    from spell_months
    group by urn, la_gss_code, month

)

select * from final

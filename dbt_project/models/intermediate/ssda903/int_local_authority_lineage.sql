-- Every children's services authority with the current authority it is now part of (itself, or the one authority
-- that replaced it alone: Somerset County Council -> Somerset Council; null for a county split in two) and, for an
-- authority whose whole area lay in one former authority, that authority and the day the new one took over: a
-- merger's single predecessor (Somerset) or the county a unitary was carved from (North Northamptonshire from
-- Northamptonshire, 2021). SSDA903 returns and Ofsted registers name the authority in force on their date, so
-- comparisons across dates go through this table (macro la_code_as_of).

with

authorities as (

    select * from {{ ref('int_local_authorities_joined') }}

),

successors as (

    select
        authorities.la_gss_code,
        replaced_by.gss_code as successor_gss_code
    from authorities
    cross join unnest(authorities.replaced_by_gss_codes) as replaced_by (gss_code)

),

current_authorities as (

    select
        authorities.la_gss_code,
        case
            when authorities.is_current then authorities.la_gss_code
            when count(successors.successor_gss_code) = 1 then min(successors.successor_gss_code)
        end as current_la_gss_code
    from authorities
    left join successors
        on authorities.la_gss_code = successors.la_gss_code
    group by authorities.la_gss_code, authorities.is_current

),

final as (

    select
        authorities.la_gss_code,
        current_authorities.current_la_gss_code,
        -- a merger of several (Bournemouth, Christchurch and Poole) has no single authority in force before it
        case when len(authorities.replaces_gss_codes) = 1 then authorities.replaces_gss_codes[1] end
            as predecessor_la_gss_code,
        case when len(authorities.replaces_gss_codes) = 1 then authorities.start_date end as current_from_date
    from authorities
    inner join current_authorities
        on authorities.la_gss_code = current_authorities.la_gss_code

)

select * from final

-- Every children's services authority with the current authority it is now part of (itself, or the one authority
-- that replaced it alone: Somerset County Council -> Somerset Council; null for a county split in two) and, for a
-- current authority that replaced exactly one, that predecessor and the day it took over. SSDA903 returns and
-- Ofsted registers name the authority in force on their date, so comparisons across dates go through this table.

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
        authorities.sole_predecessor_gss_code as predecessor_la_gss_code,
        case when authorities.sole_predecessor_gss_code is not null then authorities.start_date end
            as current_from_date
    from authorities
    inner join current_authorities
        on authorities.la_gss_code = current_authorities.la_gss_code

)

select * from final

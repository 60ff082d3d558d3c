-- One row per children's services authority in England, current and former: the register row with its DfE code,
-- DfE name, government office region (code from ONS), DfE region, successors and predecessors.

with

authorities as (

    select * from {{ ref('stg_reference__local_authorities') }}
    where is_childrens_services_authority

),

dfe as (

    -- one row per GSS code: the latest DfE code and name listed for it
    select
        la_gss_code,
        arg_max(la_dfe_code, last_year_listed) as la_dfe_code,
        arg_max(la_name, last_year_listed) as la_name,
        arg_max(dfe_region_code, last_year_listed) as dfe_region_code,
        arg_max(dfe_region_name, last_year_listed) as dfe_region_name,
        min(first_year_with_figures) as first_year_with_figures,
        max(last_year_with_figures) as last_year_with_figures
    from {{ ref('stg_reference__dfe_local_authorities') }}
    group by la_gss_code

),

supplement as (

    select * from {{ ref('stg_reference__dfe_code_supplements') }}

),

wards as (

    select * from {{ ref('stg_reference__wards') }}
    where region_gss_code is not null

),

regions as (

    select distinct
        region_gss_code,
        region_name
    from wards

),

area_regions as (

    -- 2021 districts, unitaries and counties -> region (ONS)
    select distinct
        lad_gss_code as area_gss_code,
        region_gss_code
    from wards
    union
    select distinct
        county_gss_code as area_gss_code,
        region_gss_code
    from wards
    where county_gss_code is not null

),

known_regions as (

    -- the region from ONS 2021 or, for authorities ONS 2021 does not list, from DfE (never Inner / Outer London)
    select
        authorities.la_gss_code,
        coalesce(
            area_regions.region_gss_code,
            case when dfe.dfe_region_code like 'E12%' then dfe.dfe_region_code end
        ) as region_gss_code
    from authorities
    left join area_regions
        on authorities.la_gss_code = area_regions.area_gss_code
    left join dfe
        on authorities.la_gss_code = dfe.la_gss_code

),

successions as (

    -- one row per (former authority, authority that took over all or part of it)
    select
        former.la_gss_code as predecessor_gss_code,
        successor.la_gss_code as successor_gss_code,
        successor.start_date as successor_start_date,
        len(string_split(former.replaced_by_registry_codes_text, ',')) as n_successors
    from authorities as former
    cross join unnest(string_split(former.replaced_by_registry_codes_text, ',')) as replaced_by (registry_code)
    inner join authorities as successor
        on replaced_by.registry_code = successor.la_registry_code

),

successors as (

    select
        successions.predecessor_gss_code as la_gss_code,
        list(successions.successor_gss_code order by successions.successor_gss_code) as replaced_by_gss_codes,
        min(successions.successor_start_date) as first_successor_start_date,
        min(known_regions.region_gss_code) as successor_region_gss_code
    from successions
    left join known_regions
        on successions.successor_gss_code = known_regions.la_gss_code
    group by successions.predecessor_gss_code

),

predecessors as (

    select
        successions.successor_gss_code as la_gss_code,
        list(successions.predecessor_gss_code order by successions.predecessor_gss_code) as replaces_gss_codes,
        min(known_regions.region_gss_code) as predecessor_region_gss_code,
        -- the one former authority this authority took over whole, when there is exactly one
        case
            when count(*) filter (where successions.n_successors = 1) = 1
                then min(successions.predecessor_gss_code) filter (where successions.n_successors = 1)
        end as sole_predecessor_gss_code
    from successions
    left join known_regions
        on successions.predecessor_gss_code = known_regions.la_gss_code
    group by successions.successor_gss_code

),

joined as (

    select
        authorities.la_gss_code,
        authorities.la_registry_code,
        coalesce(supplement.la_dfe_code, dfe.la_dfe_code, authorities.old_ons_la_code) as la_dfe_code,
        case
            when supplement.la_dfe_code is not null then 'la_dfe_codes_supplement'
            when dfe.la_dfe_code is not null then 'dfe_cla_2023_release'
            when authorities.old_ons_la_code is not null then 'register_old_ons_la_code'
        end as la_dfe_code_source,
        coalesce(dfe.la_name, authorities.la_nice_name) as la_name,
        authorities.la_nice_name,
        authorities.la_official_name,
        supplement.la_name as supplement_la_name,
        authorities.alt_names_text,
        authorities.la_type,
        authorities.la_type_name,
        -- ONS 2021 / DfE first; then the region of the area's predecessors or successors; the register's region
        -- name last (it misfiles Derbyshire and Lincolnshire)
        coalesce(
            known_regions.region_gss_code,
            predecessors.predecessor_region_gss_code,
            successors.successor_region_gss_code,
            register_regions.region_gss_code
        ) as government_office_region_code,
        authorities.is_current,
        authorities.start_date,
        authorities.end_date as register_end_date,
        -- the register gives either the last day (2019-03-31) or the successor's first day (2023-04-01)
        case
            when successors.first_successor_start_date <= authorities.end_date
                then cast(successors.first_successor_start_date - interval 1 day as date)
            else authorities.end_date
        end as end_date,
        coalesce(successors.replaced_by_gss_codes, []) as replaced_by_gss_codes,
        coalesce(predecessors.replaces_gss_codes, []) as replaces_gss_codes,
        predecessors.sole_predecessor_gss_code,
        coalesce(string_split(authorities.former_gss_codes_text, ','), []) as former_gss_codes,
        dfe.dfe_region_code,
        dfe.dfe_region_name,
        dfe.first_year_with_figures as dfe_first_year_with_figures,
        dfe.last_year_with_figures as dfe_last_year_with_figures
    from authorities
    left join dfe
        on authorities.la_gss_code = dfe.la_gss_code
    left join known_regions
        on authorities.la_gss_code = known_regions.la_gss_code
    left join regions as register_regions
        on authorities.region_name = register_regions.region_name
    left join supplement
        on authorities.la_gss_code = supplement.la_gss_code
    left join successors
        on authorities.la_gss_code = successors.la_gss_code
    left join predecessors
        on authorities.la_gss_code = predecessors.la_gss_code

),

final as (

    select
        joined.la_gss_code,
        joined.la_registry_code,
        joined.la_dfe_code,
        joined.la_dfe_code_source,
        joined.la_name,
        joined.la_nice_name,
        joined.la_official_name,
        joined.supplement_la_name,
        joined.alt_names_text,
        joined.la_type,
        joined.la_type_name,
        joined.government_office_region_code,
        regions.region_name as government_office_region_name,
        -- DfE splits London into Inner and Outer London; elsewhere its regions are the government office regions
        coalesce(joined.dfe_region_code, joined.government_office_region_code) as dfe_region_code,
        coalesce(joined.dfe_region_name, regions.region_name) as dfe_region_name,
        joined.is_current,
        joined.start_date,
        joined.end_date,
        joined.register_end_date,
        joined.replaced_by_gss_codes,
        joined.replaces_gss_codes,
        joined.sole_predecessor_gss_code,
        joined.former_gss_codes,
        joined.dfe_first_year_with_figures,
        joined.dfe_last_year_with_figures
    from joined
    left join regions
        on joined.government_office_region_code = regions.region_gss_code

)

select * from final

-- One row per children's services authority in England, current and former: codes, names, type, regions,
-- lifetime, successors, and every region / consortium / configured grouping it belongs to.

with

authorities as (

    select * from {{ ref('int_local_authorities_joined') }}

),

memberships as (

    select * from {{ ref('bridge_local_authority_grouping') }}

),

groupings as (

    select
        la_gss_code,
        list(grouping_type || ': ' || grouping_name order by grouping_type, grouping_name) as groupings,
        string_agg(grouping_type || ': ' || grouping_name, '; ' order by grouping_type, grouping_name)
            as groupings_text,
        string_agg(grouping_name, '; ' order by grouping_name) filter (where grouping_type = 'consortium')
            as consortia
    from memberships
    group by la_gss_code

),

names as (

    -- spellings that resolve to the authority today (codes excluded)
    select
        la_gss_code,
        list(distinct name_variant order by name_variant) as known_names
    from {{ ref('int_local_authority_names_unioned') }}
    cross join unnest(name_variants) as variants (name_variant)
    where not is_code and not regexp_full_match(name_variant, '[0-9]+')
    group by la_gss_code

),

successor_names as (

    select
        authorities.la_gss_code,
        string_agg(successor.la_name, '; ' order by successor.la_name) as replaced_by_names
    from authorities
    cross join unnest(authorities.replaced_by_gss_codes) as replaced_by (gss_code)
    inner join authorities as successor
        on replaced_by.gss_code = successor.la_gss_code
    group by authorities.la_gss_code

),

final as (

    select
        authorities.la_gss_code,
        authorities.la_dfe_code,
        authorities.la_name,
        authorities.la_official_name,
        authorities.la_nice_name,
        authorities.la_registry_code,
        authorities.la_type,
        authorities.la_type_name,
        authorities.government_office_region_code,
        authorities.government_office_region_name,
        authorities.dfe_region_code,
        authorities.dfe_region_name,
        authorities.is_current,
        authorities.start_date,
        authorities.end_date,
        authorities.replaced_by_gss_codes,
        array_to_string(authorities.replaced_by_gss_codes, ', ') as replaced_by_gss_codes_text,
        successor_names.replaced_by_names,
        authorities.replaces_gss_codes,
        array_to_string(authorities.replaces_gss_codes, ', ') as replaces_gss_codes_text,
        authorities.former_gss_codes,
        coalesce(groupings.groupings, []) as groupings,
        groupings.groupings_text,
        groupings.consortia,
        coalesce(names.known_names, []) as known_names,
        authorities.la_dfe_code_source,
        authorities.dfe_first_year_with_figures,
        authorities.dfe_last_year_with_figures
    from authorities
    left join groupings
        on authorities.la_gss_code = groupings.la_gss_code
    left join successor_names
        on authorities.la_gss_code = successor_names.la_gss_code
    left join names
        on authorities.la_gss_code = names.la_gss_code

)

select * from final

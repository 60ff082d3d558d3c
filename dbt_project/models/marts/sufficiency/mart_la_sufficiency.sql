-- Sufficiency of each loaded LA on each 31 March: its children looked after, where they live, how far from home,
-- the children's homes in its area, other LAs' children placed there, ages, UASC, and children starting care.

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

registrations as (

    select * from {{ ref('int_provider_registrations_by_month') }}

),

lineage as (

    select * from {{ ref('int_local_authority_lineage') }}

),

open_at_31_march as (

    select
        collection_years.collection_year,
        collection_years.as_at_date,
        spells.*,
        {{ age_in_years('spells.dob_month', 'collection_years.as_at_date') }} as age_at_31_march
    from collection_years
    inner join spells
        on
            collection_years.la_gss_code = spells.la_gss_code
            and collection_years.as_at_date >= spells.start_date
            and (spells.end_date is null or collection_years.as_at_date < spells.end_date)

),

looked_after as (

    select
        la_gss_code,
        collection_year,
        count(distinct child_id) as children_looked_after,
        count(distinct case when placement_type = 'in_house_fostering' then child_id end) as in_house_fostering,
        count(distinct case when placement_type = 'ifa_fostering' then child_id end) as ifa_fostering,
        count(distinct case when placement_type = 'kinship' then child_id end) as kinship,
        count(distinct case when placement_type = 'own_residential' then child_id end) as own_residential,
        count(distinct case when placement_type = 'independent_residential' then child_id end)
            as independent_residential,
        count(distinct case when placement_type = 'secure' then child_id end) as secure,
        count(distinct case when placement_type = 'semi_independent' then child_id end) as semi_independent,
        count(distinct case when placement_type = 'residential_school' then child_id end) as residential_school,
        count(distinct case when placement_type = 'other' then child_id end) as other_placements,
        count(distinct case when is_inside_la then child_id end) as placed_inside_la,
        count(distinct case when not is_inside_la then child_id end) as placed_outside_la,
        count(distinct case when is_inside_region then child_id end) as placed_inside_region,
        count(distinct case when placement_type in ('own_residential', 'independent_residential') then child_id end)
            as in_childrens_homes,
        count(
            distinct case
                when placement_type in ('own_residential', 'independent_residential') and is_inside_region
                    then child_id
            end
        ) as in_childrens_homes_inside_region,
        count(distinct case when not is_inside_region then child_id end) as placed_outside_region,
        count(distinct case when distance_miles > 20 then child_id end) as over_20_miles,
        count(distinct case when distance_miles is null then child_id end) as distance_unknown,
        count(distinct case when distance_miles is not null then child_id end) as with_distance,
        count(distinct case when age_at_31_march < 1 then child_id end) as cla_age_under_1,
        count(distinct case when age_at_31_march between 1 and 4 then child_id end) as cla_age_1_to_4,
        count(distinct case when age_at_31_march between 5 and 9 then child_id end) as cla_age_5_to_9,
        count(distinct case when age_at_31_march between 10 and 15 then child_id end) as cla_age_10_to_15,
        count(distinct case when age_at_31_march between 16 and 17 then child_id end) as cla_age_16_to_17,
        count(distinct case when is_uasc then child_id end) as uasc_looked_after
    from open_at_31_march
    group by la_gss_code, collection_year

),

-- children of other loaded LAs living in settings in this LA (the setting's authority as of 31 March)
imported_children as (

    select
        host_la_gss_code,
        collection_year,
        count(*) as children_from_other_las
    from (
        select distinct
            {{ la_code_as_of('lineage', 'open_at_31_march.as_at_date') }} as host_la_gss_code,
            open_at_31_march.collection_year,
            open_at_31_march.la_gss_code,
            open_at_31_march.child_id
        from open_at_31_march
        inner join lineage
            on open_at_31_march.setting_la_gss_code = lineage.la_gss_code
        where open_at_31_march.setting_la_gss_code != open_at_31_march.placing_current_la_gss_code
    ) as placed_children
    group by host_la_gss_code, collection_year

),

local_homes as (

    select
        {{ la_code_as_of('lineage', 'registrations.month_end_date') }} as la_gss_code,
        extract(year from registrations.month) as collection_year,
        count(*) as local_childrens_homes,
        coalesce(sum(registrations.places), 0) as local_places
    from registrations
    inner join lineage
        on registrations.la_gss_code = lineage.la_gss_code
    where registrations.registered_as_childrens_home and extract(month from registrations.month) = 3
    group by
        {{ la_code_as_of('lineage', 'registrations.month_end_date') }},
        extract(year from registrations.month)

),

starters as (

    select
        collection_years.la_gss_code,
        collection_years.collection_year,
        spells.child_id,
        spells.is_uasc,
        min({{ age_in_years('spells.dob_month', 'spells.start_date') }}) as age_at_start
    from collection_years
    inner join spells
        on
            collection_years.la_gss_code = spells.la_gss_code
            and spells.start_date between collection_years.year_start_date and collection_years.as_at_date
    where spells.starts_period_of_care
    group by collection_years.la_gss_code, collection_years.collection_year, spells.child_id, spells.is_uasc

),

starters_counted as (

    select
        la_gss_code,
        collection_year,
        count(*) as starters,
        sum(case when age_at_start < 1 then 1 else 0 end) as starters_age_under_1,
        sum(case when age_at_start between 1 and 4 then 1 else 0 end) as starters_age_1_to_4,
        sum(case when age_at_start between 5 and 9 then 1 else 0 end) as starters_age_5_to_9,
        sum(case when age_at_start between 10 and 15 then 1 else 0 end) as starters_age_10_to_15,
        sum(case when age_at_start between 16 and 17 then 1 else 0 end) as starters_age_16_to_17,
        sum(case when is_uasc then 1 else 0 end) as uasc_starters
    from starters
    group by la_gss_code, collection_year

),

final as (

    select
        collection_years.la_gss_code,
        collection_years.la_dfe_code,
        authorities.la_name,
        authorities.government_office_region_name as region_name,
        collection_years.collection_year,
        collection_years.as_at_date,
        cast(coalesce(looked_after.children_looked_after, 0) as bigint) as children_looked_after,
        cast(coalesce(looked_after.in_house_fostering, 0) as bigint) as in_house_fostering,
        cast(coalesce(looked_after.ifa_fostering, 0) as bigint) as ifa_fostering,
        cast(coalesce(looked_after.kinship, 0) as bigint) as kinship,
        cast(coalesce(looked_after.own_residential, 0) as bigint) as own_residential,
        cast(coalesce(looked_after.independent_residential, 0) as bigint) as independent_residential,
        cast(coalesce(looked_after.secure, 0) as bigint) as secure,
        cast(coalesce(looked_after.semi_independent, 0) as bigint) as semi_independent,
        cast(coalesce(looked_after.residential_school, 0) as bigint) as residential_school,
        cast(coalesce(looked_after.other_placements, 0) as bigint) as other_placements,
        cast(coalesce(looked_after.placed_inside_la, 0) as bigint) as placed_inside_la,
        cast(coalesce(looked_after.placed_outside_la, 0) as bigint) as placed_outside_la,
        cast(coalesce(looked_after.placed_inside_region, 0) as bigint) as placed_inside_region,
        cast(coalesce(looked_after.in_childrens_homes, 0) as bigint) as in_childrens_homes,
        cast(coalesce(looked_after.in_childrens_homes_inside_region, 0) as bigint) as in_childrens_homes_inside_region,
        cast(coalesce(looked_after.placed_outside_region, 0) as bigint) as placed_outside_region,
        cast(coalesce(looked_after.over_20_miles, 0) as bigint) as over_20_miles,
        cast(coalesce(looked_after.distance_unknown, 0) as bigint) as distance_unknown,
        cast(looked_after.placed_inside_la as double) / nullif(looked_after.children_looked_after, 0)
            as share_inside_la,
        cast(looked_after.over_20_miles as double) / nullif(looked_after.with_distance, 0) as share_over_20_miles,
        cast(coalesce(local_homes.local_childrens_homes, 0) as bigint) as local_childrens_homes,
        cast(coalesce(local_homes.local_places, 0) as bigint) as local_places,
        cast(coalesce(imported_children.children_from_other_las, 0) as bigint) as children_from_other_las,
        cast(coalesce(looked_after.placed_outside_la, 0) as bigint) as own_children_placed_outside,
        cast(
            coalesce(imported_children.children_from_other_las, 0) - coalesce(looked_after.placed_outside_la, 0)
            as bigint
        ) as net_gain,
        cast(coalesce(looked_after.cla_age_under_1, 0) as bigint) as cla_age_under_1,
        cast(coalesce(looked_after.cla_age_1_to_4, 0) as bigint) as cla_age_1_to_4,
        cast(coalesce(looked_after.cla_age_5_to_9, 0) as bigint) as cla_age_5_to_9,
        cast(coalesce(looked_after.cla_age_10_to_15, 0) as bigint) as cla_age_10_to_15,
        cast(coalesce(looked_after.cla_age_16_to_17, 0) as bigint) as cla_age_16_to_17,
        cast(coalesce(looked_after.uasc_looked_after, 0) as bigint) as uasc_looked_after,
        cast(coalesce(starters_counted.starters, 0) as bigint) as starters,
        cast(coalesce(starters_counted.starters_age_under_1, 0) as bigint) as starters_age_under_1,
        cast(coalesce(starters_counted.starters_age_1_to_4, 0) as bigint) as starters_age_1_to_4,
        cast(coalesce(starters_counted.starters_age_5_to_9, 0) as bigint) as starters_age_5_to_9,
        cast(coalesce(starters_counted.starters_age_10_to_15, 0) as bigint) as starters_age_10_to_15,
        cast(coalesce(starters_counted.starters_age_16_to_17, 0) as bigint) as starters_age_16_to_17,
        cast(coalesce(starters_counted.uasc_starters, 0) as bigint) as uasc_starters
    from collection_years
    left join authorities
        on collection_years.la_gss_code = authorities.la_gss_code
    left join looked_after
        on
            collection_years.la_gss_code = looked_after.la_gss_code
            and collection_years.collection_year = looked_after.collection_year
    left join imported_children
        on
            collection_years.la_gss_code = imported_children.host_la_gss_code
            and collection_years.collection_year = imported_children.collection_year
    left join local_homes
        on
            collection_years.la_gss_code = local_homes.la_gss_code
            and collection_years.collection_year = local_homes.collection_year
    left join starters_counted
        on
            collection_years.la_gss_code = starters_counted.la_gss_code
            and collection_years.collection_year = starters_counted.collection_year

)

select * from final

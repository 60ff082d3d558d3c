-- Whose children live in each LA's settings on 31 March: one row per collection year x host LA (where the setting
-- is) x placing LA (whose child it is), over the loaded LAs' returns. Spells whose setting's LA is unknown are left
-- out.

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

lineage as (

    select * from {{ ref('int_local_authority_lineage') }}

),

open_at_31_march as (

    select
        collection_years.collection_year,
        {{ la_code_as_of('lineage', 'collection_years.as_at_date') }} as setting_la_gss_code,
        spells.la_gss_code,
        spells.sex,
        spells.is_childrens_home_placement
    from collection_years
    inner join spells
        on
            collection_years.la_gss_code = spells.la_gss_code
            and collection_years.as_at_date >= spells.start_date
            and (spells.end_date is null or collection_years.as_at_date < spells.end_date)
    inner join lineage
        on spells.setting_la_gss_code = lineage.la_gss_code

),

counted as (

    select
        collection_year,
        setting_la_gss_code as host_la_gss_code,
        la_gss_code as placing_la_gss_code,
        count(*) as placements,
        sum(case when sex = 'female' then 1 else 0 end) as female,
        sum(case when sex = 'male' then 1 else 0 end) as male,
        sum(case when is_childrens_home_placement then 1 else 0 end) as residential_placements,
        sum(case when is_childrens_home_placement and sex = 'female' then 1 else 0 end) as residential_female,
        sum(case when is_childrens_home_placement and sex = 'male' then 1 else 0 end) as residential_male
    from open_at_31_march
    group by collection_year, setting_la_gss_code, la_gss_code

),

final as (

    select
        counted.collection_year,
        counted.host_la_gss_code,
        host_authorities.la_name as host_la_name,
        host_authorities.government_office_region_name as host_region_name,
        counted.placing_la_gss_code,
        placing_authorities.la_name as placing_la_name,
        placing_authorities.government_office_region_name as placing_region_name,
        coalesce(
            host_authorities.government_office_region_name = placing_authorities.government_office_region_name,
            false
        ) as same_region,
        cast(counted.placements as bigint) as placements,
        cast(counted.female as bigint) as female,
        cast(counted.male as bigint) as male,
        cast(counted.residential_placements as bigint) as residential_placements,
        cast(counted.residential_female as bigint) as residential_female,
        cast(counted.residential_male as bigint) as residential_male
    from counted
    left join authorities as host_authorities
        on counted.host_la_gss_code = host_authorities.la_gss_code
    left join authorities as placing_authorities
        on counted.placing_la_gss_code = placing_authorities.la_gss_code

)

select * from final

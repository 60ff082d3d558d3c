-- One row per provider group: its name, the organisations and other names resolved into it, sector and
-- (indicative) ownership type with its evidence, and its children's homes, settings and places nationally on
-- the latest register snapshot.

with

groups as (

    select * from {{ ref('int_provider_groups') }}

),

providers as (

    select * from {{ ref('dim_provider') }}

),

national as (

    select
        provider_group_id,
        count(*) filter (where registered_as_childrens_home) as childrens_homes,
        coalesce(sum(places) filter (where registered_as_childrens_home), 0) as childrens_home_places,
        count(*) as settings,  -- noqa: RF04
        coalesce(sum(places), 0) as places,
        count(*) filter (where provision_group = 'Fostering') as fostering_agencies
    from providers
    where is_in_latest_snapshot
    group by provider_group_id

),

final as (

    select
        groups.provider_group_id,
        groups.provider_group_name,
        groups.is_curated,
        groups.sector,
        groups.ownership_type,
        true as ownership_type_is_indicative,
        groups.ownership_evidence,
        groups.source_note,
        array_to_string(groups.organisations, ' | ') as organisations,
        array_to_string(groups.other_names, ' | ') as brands_and_other_names,
        len(groups.organisations) as organisation_count,
        groups.names_resolved,
        coalesce(national.childrens_homes, 0) as childrens_homes,
        coalesce(national.childrens_home_places, 0) as childrens_home_places,
        coalesce(national.settings, 0) as settings,  -- noqa: RF04
        coalesce(national.places, 0) as places,
        coalesce(national.fostering_agencies, 0) as fostering_agencies
    from groups
    left join national
        on groups.provider_group_id = national.provider_group_id

)

select * from final

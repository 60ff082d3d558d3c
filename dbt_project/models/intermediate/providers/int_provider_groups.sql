-- One row per provider group: its name, the organisations and brands resolved into it, sector and ownership
-- type. A curated group (seed provider_groups) takes its name, sector and ownership from the seed; any other
-- group is named after its own organisation (the register's spelling first) and takes its sector from the
-- register's sector of its settings. Ownership type is indicative; ownership_evidence says where it comes from.
-- Spend that names no organisation has a group per LA: suppliers withheld for data protection, and private
-- individuals (sole-trader foster carers and the like), never named.

with

resolved as (

    select * from {{ ref('int_provider_names_resolved') }}

),

curated as (

    select * from {{ ref('provider_groups') }}

),

register as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

settings as (

    select * from {{ ref('int_providers_grouped') }}

),

authorities as (

    select * from {{ ref('int_local_authorities_joined') }}

),

-- The register's sector of each group's settings, on their latest snapshot.
setting_sectors as (

    select
        provider_group_id,
        first(sector order by setting_count desc, sector asc) as sector
    from (
        select
            settings.provider_group_id,
            register.sector,
            count(*) as setting_count
        from settings
        inner join register
            on settings.urn = register.urn
        where register.sector is not null
        group by settings.provider_group_id, register.sector
    ) as sector_counts
    group by provider_group_id

),

members as (

    select
        group_id,
        first(
            organisation_name order by
                (link_method = 'exact name' or group_id = 'org-' || left(md5(match_key), 12)) desc,
                spend desc,
                organisation_name asc
        ) as own_name,
        list_sort(list_distinct(
            list(organisation_name) filter (where is_register_owner or link_method = 'company number')
        )) as organisations,
        list_sort(list_distinct(
            list(organisation_name) filter (where not is_register_owner and link_method <> 'company number')
        )) as other_names,
        count(*) as names_resolved,
        bool_or(is_register_owner) as has_register_owner
    from resolved
    where link_method <> 'individual'
    group by group_id

),

resolved_groups as (

    select
        members.group_id as provider_group_id,
        coalesce(curated.group_name, members.own_name) as provider_group_name,
        curated.group_id is not null as is_curated,
        coalesce(
            curated.sector,
            case lower(setting_sectors.sector)
                when 'private' then 'private'
                when 'voluntary' then 'voluntary'
                when 'local authority' then 'local authority'
                when 'health authority' then 'health authority'
                when 'academy' then 'academy'
            end
        ) as sector,
        coalesce(
            curated.ownership_type,
            case lower(setting_sectors.sector)
                when 'private' then 'private'
                when 'voluntary' then 'voluntary / charity'
                when 'local authority' then 'local authority'
            end
        ) as ownership_type,
        case
            when curated.group_id is not null then curated.ownership_evidence
            when
                setting_sectors.sector is not null
                then 'Ofsted register sector of its settings: ' || setting_sectors.sector
        end as ownership_evidence,
        curated.source_note,
        members.organisations,
        members.other_names,
        members.names_resolved
    from members
    left join curated
        on members.group_id = curated.group_id
    left join setting_sectors
        on members.group_id = setting_sectors.provider_group_id

),

per_authority_groups as (

    select
        'withheld-' || la_gss_code as provider_group_id,
        'Supplier withheld (' || la_name || ')' as provider_group_name,
        false as is_curated,
        cast(null as varchar) as sector,
        cast(null as varchar) as ownership_type,
        'the council withheld the supplier''s name' as ownership_evidence,
        cast(null as varchar) as source_note,
        cast([] as varchar[]) as organisations,
        cast([] as varchar[]) as other_names,
        0 as names_resolved
    from authorities

    union all

    select
        'individuals-' || la_gss_code as provider_group_id,
        'Private individuals (' || la_name || ')' as provider_group_name,
        false as is_curated,
        'private' as sector,
        'private individual' as ownership_type,
        'supplier names taken for a person''s name (int_provider_names_resolved)' as ownership_evidence,
        null as source_note,
        [] as organisations,
        [] as other_names,
        0 as names_resolved
    from authorities

    union all

    select
        'not-recorded' as provider_group_id,
        'Provider not recorded' as provider_group_name,
        false as is_curated,
        null as sector,
        null as ownership_type,
        'the extract names no provider or establishment' as ownership_evidence,
        null as source_note,
        [] as organisations,
        [] as other_names,
        0 as names_resolved

),

final as (

    select * from resolved_groups
    union all
    select * from per_authority_groups

)

select * from final

-- One row per Ofsted URN ever seen: its most recent register entry, its history, and the provider group its
-- owning organisation resolves to (intermediate.int_providers_grouped), with the method and score.

with

register as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

histories as (

    select * from {{ ref('int_provider_histories_summarised') }}

),

grouped as (

    select * from {{ ref('int_providers_grouped') }}

),

groups as (

    select * from {{ ref('int_provider_groups') }}

),

-- Names taken for a private individual's are never shown in a mart.
individuals as (

    select match_key from {{ ref('int_provider_names_resolved') }}
    where is_individual

),

latest_entry as (

    select *
    from (
        select
            register.*,
            row_number() over (partition by register.urn order by register.snapshot_date desc) as recency
        from register
    ) as ranked_entries
    where recency = 1

),

last_known_name as (

    select
        urn,
        max(provider_name) as provider_name
    from (
        select
            urn,
            provider_name,
            row_number() over (partition by urn order by snapshot_date desc) as recency
        from register
        where provider_name is not null
    ) as named_entries
    where recency = 1
    group by urn

),

final as (

    select
        latest_entry.urn,
        case
            when
                {{ organisation_key('last_known_name.provider_name') }}
                in (select individuals.match_key from individuals)
                then 'Private individual'
            else last_known_name.provider_name
        end as provider_name,
        latest_entry.provision_type,
        latest_entry.provision_group,
        latest_entry.registered_as_childrens_home,
        latest_entry.sector,
        latest_entry.la_gss_code,
        latest_entry.local_authority_name,
        latest_entry.places,
        latest_entry.registration_date,
        latest_entry.registration_status,
        histories.closed_date,
        histories.first_seen_snapshot_date,
        histories.last_seen_snapshot_date,
        histories.is_in_latest_snapshot,
        histories.places_changes,
        histories.rating_changes,
        latest_entry.latest_inspection_date,
        latest_entry.overall_effectiveness as latest_overall_effectiveness,
        latest_entry.help_and_protection as latest_help_and_protection,
        latest_entry.leadership_and_management as latest_leadership_and_management,
        case
            when
                {{ organisation_key('latest_entry.owner_name') }}
                in (select individuals.match_key from individuals)
                then 'Private individual'
            else latest_entry.owner_name
        end as owning_organisation,
        grouped.provider_group_id,
        groups.provider_group_name,
        grouped.provider_group_method,
        grouped.provider_group_score
    from latest_entry
    inner join histories
        on latest_entry.urn = histories.urn
    left join last_known_name
        on latest_entry.urn = last_known_name.urn
    left join grouped
        on latest_entry.urn = grouped.urn
    left join groups
        on grouped.provider_group_id = groups.provider_group_id

)

select * from final

-- One row per provider group that runs settings Ofsted registers for children's placements (children's homes,
-- fostering agencies, residential special schools, secure homes, supported accommodation, residential family
-- centres; seed spend_provider_kinds): the spend category a payment to the group gets, which is the kind most of
-- its places are in (then most settings), and whether it runs several kinds. Each URN counts with its latest
-- register entry. Groups whose settings are all run by local or health authorities are flagged: a council or an
-- NHS body is never "who is paid" for a placement.

with

grouped as (

    select * from {{ ref('int_providers_grouped') }}

),

register as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

provider_kinds as (

    select * from {{ ref('spend_provider_kinds') }}

),

latest_entry as (

    select
        urn,
        provision_type,
        sector,
        places
    from (
        select
            urn,
            provision_type,
            sector,
            places,
            row_number() over (partition by urn order by snapshot_date desc) as recency
        from register
    ) as ranked
    where recency = 1

),

settings as (

    select
        grouped.provider_group_id,
        grouped.urn,
        provider_kinds.spend_category,
        coalesce(latest_entry.places, 0) as places,
        coalesce(lower(latest_entry.sector) in ('local authority', 'health authority'), false) as is_public_sector
    from grouped
    inner join latest_entry
        on grouped.urn = latest_entry.urn
    inner join provider_kinds
        on lower(latest_entry.provision_type) = lower(provider_kinds.provision_type)
    where
        grouped.provider_group_id is not null
        and grouped.provider_group_id not like 'individuals-%'

),

per_kind as (

    select
        provider_group_id,
        spend_category,
        count(distinct urn) as setting_count,
        sum(places) as places,
        bool_and(is_public_sector) as is_public_sector
    from settings
    group by provider_group_id, spend_category

),

ranked as (

    select
        *,
        row_number() over (
            partition by provider_group_id order by places desc, setting_count desc, spend_category asc
        ) as kind_rank
    from per_kind

),

final as (

    select
        provider_group_id,
        max(case when kind_rank = 1 then spend_category end) as main_spend_category,
        string_agg(spend_category, '|' order by spend_category) as spend_categories,
        count(*) > 1 as runs_several_kinds,
        sum(setting_count) as setting_count,
        sum(places) as places,
        bool_and(is_public_sector) as is_public_sector
    from ranked
    group by provider_group_id

)

select * from final

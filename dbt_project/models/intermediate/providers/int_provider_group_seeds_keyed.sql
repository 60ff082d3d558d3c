-- The curated seeds keyed the way every provider name is keyed (organisation_key): each group's own name, its
-- brands and legal entities (seed provider_group_members, matched by name or as a whole-word prefix), and the
-- analysts' override decisions with the keys of both names they name.

with

groups as (

    select * from {{ ref('provider_groups') }}

),

members as (

    select * from {{ ref('provider_group_members') }}

),

overrides as (

    select * from {{ ref('provider_group_overrides') }}

),

entries as (

    select
        group_id,
        member_name as entry_name,
        member_kind as entry_kind,
        match as match_type,
        source_note
    from members

    union all

    select
        group_id,
        group_name as entry_name,
        'group name' as entry_kind,
        'name' as match_type,
        source_note
    from groups

    union all

    select
        cast(group_id as varchar) as group_id,
        name as entry_name,
        'override' as entry_kind,
        'name' as match_type,
        reason as source_note
    from overrides
    where decision = 'belongs to'

),

final as (

    select distinct
        group_id,
        entry_name,
        entry_kind,
        match_type,
        {{ organisation_key('entry_name') }} as organisation_key,
        {{ organisation_key('entry_name') }} as match_key,
        source_note
    from entries
    where {{ organisation_key('entry_name') }} is not null

)

select * from final

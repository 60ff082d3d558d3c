-- The analysts' decisions (seed provider_group_overrides) keyed like every provider name: 'belongs to' puts a
-- name in a group, 'own group' keeps it alone, 'not same as' forbids any algorithmic link between two names.
-- They win over every other method in int_provider_names_resolved.

with

overrides as (

    select * from {{ ref('provider_group_overrides') }}

),

final as (

    select
        decision,
        name,
        {{ organisation_key('name') }} as match_key,
        cast(group_id as varchar) as group_id,
        cast(other_name as varchar) as other_name,
        {{ organisation_key('other_name') }} as other_match_key,
        reason,
        decided_by,
        decided_on
    from overrides
    where {{ organisation_key('name') }} is not null

)

select * from final

-- One row per Ofsted URN: the organisation that owns it on its latest snapshot (its setting name when the
-- register names no owner) and the provider group that organisation resolves to, with the method and score.
-- A setting whose only name is a person's counts to the 'private individuals' group of its LA.

with

register as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

resolved as (

    select * from {{ ref('int_provider_names_resolved') }}

),

latest_owner as (

    select
        urn,
        coalesce(
            case when not {{ is_withheld_supplier('owner_name') }} then owner_name end,
            case when not {{ is_withheld_supplier('provider_name') }} then provider_name end
        ) as organisation_name,
        la_gss_code,
        row_number() over (
            partition by urn
            order by (owner_name is not null and not {{ is_withheld_supplier('owner_name') }}) desc, snapshot_date desc
        ) as preference
    from register

),

final as (

    select
        latest_owner.urn,
        latest_owner.organisation_name,
        case
            when resolved.link_method = 'individual' then 'individuals-' || latest_owner.la_gss_code
            else resolved.group_id
        end as provider_group_id,
        resolved.link_method as provider_group_method,
        resolved.link_score as provider_group_score
    from latest_owner
    left join resolved
        on {{ organisation_key('latest_owner.organisation_name') }} = resolved.match_key
    where latest_owner.preference = 1

)

select * from final

-- Each snapshot compared with the one before it: every URN present in either, marked opened (new since the
-- previous snapshot), closed (gone since), or continuing, with its rating and places then and now.
-- A closed URN keeps the LA, type and sector it had when last seen.

with

snapshots as (

    select
        snapshot_date,
        lag(snapshot_date) over (order by snapshot_date) as previous_snapshot_date
    from (select distinct snapshot_date from {{ ref('int_provider_snapshots_joined') }}) as distinct_snapshots

),

register as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

-- every register row paired with the snapshot it is "now" for and the snapshot it is "before" for
seen as (

    select
        snapshots.snapshot_date as compared_snapshot_date,
        snapshots.previous_snapshot_date as compared_previous_snapshot_date,
        register.*
    from snapshots
    inner join register
        on register.snapshot_date in (snapshots.snapshot_date, snapshots.previous_snapshot_date)

),

seen_now as (

    select * from seen
    where snapshot_date = compared_snapshot_date

),

seen_before as (

    select * from seen
    where snapshot_date = compared_previous_snapshot_date

),

current_and_previous as (

    select
        coalesce(seen_now.compared_snapshot_date, seen_before.compared_snapshot_date) as snapshot_date,
        coalesce(seen_now.compared_previous_snapshot_date, seen_before.compared_previous_snapshot_date)
            as previous_snapshot_date,
        coalesce(seen_now.urn, seen_before.urn) as urn,
        seen_now.urn is not null as is_present,
        seen_before.urn is not null as was_present,
        coalesce(seen_now.la_gss_code, seen_before.la_gss_code) as la_gss_code,
        coalesce(seen_now.local_authority_name, seen_before.local_authority_name) as local_authority_name,
        coalesce(seen_now.provision_type, seen_before.provision_type) as provision_type,
        coalesce(seen_now.registered_as_childrens_home, seen_before.registered_as_childrens_home)
            as registered_as_childrens_home,
        coalesce(seen_now.sector, seen_before.sector) as sector,
        seen_now.places,
        seen_before.places as previous_places,
        seen_now.overall_effectiveness,
        seen_before.overall_effectiveness as previous_overall_effectiveness
    from seen_now
    full outer join seen_before
        on
            seen_now.compared_snapshot_date = seen_before.compared_snapshot_date
            and seen_now.urn = seen_before.urn

),

compared as (

    select
        *,
        case
            when previous_snapshot_date is null then 'first_snapshot'
            when is_present and not was_present then 'opened'
            when was_present and not is_present then 'closed'
            else 'continuing'
        end as change_type,
        is_present and was_present
        and coalesce(places, -1) != coalesce(previous_places, -1) as places_changed,
        is_present and was_present
        and coalesce(overall_effectiveness, '') != coalesce(previous_overall_effectiveness, '') as rating_changed
    from current_and_previous

)

select * from compared

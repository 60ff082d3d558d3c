-- One row per URN across every snapshot: when it was first and last seen, how its places and rating moved.

with

changes as (

    select * from {{ ref('int_provider_snapshots_compared') }}

),

register as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

latest_snapshot as (

    select max(snapshot_date) as snapshot_date from register

),

summarised as (

    select
        register.urn,
        min(register.snapshot_date) as first_seen_snapshot_date,
        max(register.snapshot_date) as last_seen_snapshot_date,
        count(*) as snapshots_seen,
        min(register.registration_date) as earliest_registration_date,
        max(register.closed_date) as closed_date
    from register
    group by register.urn

),

moves as (

    select
        urn,
        count(*) filter (where places_changed) as places_changes,
        count(*) filter (where rating_changed) as rating_changes,
        count(*) filter (where change_type = 'closed') as times_dropped_from_register
    from changes
    group by urn

),

final as (

    select
        summarised.urn,
        summarised.first_seen_snapshot_date,
        summarised.last_seen_snapshot_date,
        summarised.snapshots_seen,
        summarised.earliest_registration_date,
        summarised.closed_date,
        summarised.last_seen_snapshot_date = latest_snapshot.snapshot_date as is_in_latest_snapshot,
        coalesce(moves.places_changes, 0) as places_changes,
        coalesce(moves.rating_changes, 0) as rating_changes,
        coalesce(moves.times_dropped_from_register, 0) as times_dropped_from_register
    from summarised
    cross join latest_snapshot
    left join moves
        on summarised.urn = moves.urn

)

select * from final

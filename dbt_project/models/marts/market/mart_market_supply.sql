-- Supply of registered provision at each Ofsted snapshot: snapshot date x LA x provision type x sector.
-- "Children's homes and places in region R, 2021 vs 2025, opened and closed" is one query: join
-- dim_local_authority (or bridge_local_authority_grouping) and filter registered_as_childrens_home.

with

changes as (

    select * from {{ ref('int_provider_snapshots_compared') }}

),

aggregated as (

    select
        snapshot_date,
        max(previous_snapshot_date) as previous_snapshot_date,
        la_gss_code,
        max(local_authority_name) as local_authority_name,
        provision_type,
        sector,
        bool_or(registered_as_childrens_home) as registered_as_childrens_home,
        count(*) filter (where is_present) as providers,
        coalesce(sum(places) filter (where is_present), 0) as places,
        count(*) filter (where change_type = 'opened') as opened,
        count(*) filter (where change_type = 'closed') as closed,
        coalesce(sum(places) filter (where change_type = 'opened'), 0) as places_opened,
        coalesce(sum(previous_places) filter (where change_type = 'closed'), 0) as places_closed
    from changes
    where is_present or change_type = 'closed'
    group by snapshot_date, la_gss_code, provision_type, sector

)

select
    snapshot_date,
    previous_snapshot_date,
    la_gss_code,
    local_authority_name,
    provision_type,
    sector,
    registered_as_childrens_home,
    providers,
    places,
    opened,
    closed,
    places_opened,
    places_closed,
    case when previous_snapshot_date is not null then opened - closed end as net_change
from aggregated

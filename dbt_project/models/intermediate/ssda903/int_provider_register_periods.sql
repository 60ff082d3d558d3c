-- The Ofsted register as placements need it: one row per snapshot x URN with the period that snapshot is in force
-- (from its date to the next snapshot's; the first snapshot also stands for the time before it), the setting's LA
-- mapped to the current authority (a former county to the unitary that replaced it alone; null for a split
-- county), and what decides whether the setting is registered on a day in that period. A setting the places file
-- of a snapshot lists but the provider-level file of the same date lacks (newly registered) is added from the
-- places file, as the demo generator does.

with

provider_level as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

places_files as (

    {{ latest_file_per_snapshot(ref('stg_ofsted__places')) }}

),

la_names as (

    select * from {{ ref('int_local_authority_names_unioned') }}

),

places_only as (

    select
        places_files.snapshot_date,
        places_files.urn,
        places_files.provision_type,
        places_files.provision_group,
        places_files.registered_as_childrens_home,
        places_files.sector,
        places_files.places,
        case
            when places_files.snapshot_date < la_names.predecessor_until then la_names.predecessor_la_gss_code
            else la_names.la_gss_code
        end as la_gss_code,
        places_files.registration_date,
        places_files.registration_status,
        cast(null as date) as closed_date
    from places_files
    left join la_names
        on {{ normalised_name('places_files.local_authority_name') }} = la_names.normalised_name
    where
        places_files.snapshot_date in (select distinct provider_level.snapshot_date from provider_level)
        and not exists (
            select 1
            from provider_level
            where
                provider_level.snapshot_date = places_files.snapshot_date
                and provider_level.urn = places_files.urn
        )

),

register as (

    select
        snapshot_date,
        urn,
        provision_type,
        provision_group,
        registered_as_childrens_home,
        sector,
        places,
        la_gss_code,
        registration_date,
        registration_status,
        closed_date,
        postcode as postcode_district
    from provider_level
    union all
    select
        snapshot_date,
        urn,
        provision_type,
        provision_group,
        registered_as_childrens_home,
        sector,
        places,
        la_gss_code,
        registration_date,
        registration_status,
        closed_date,
        cast(null as varchar) as postcode_district
    from places_only

),

lineage as (

    select * from {{ ref('int_local_authority_lineage') }}

),

snapshots as (

    select
        snapshot_date,
        lead(snapshot_date) over (order by snapshot_date) as next_snapshot_date,
        row_number() over (order by snapshot_date) as snapshot_order
    from (select distinct snapshot_date from register) as distinct_snapshots

),

final as (

    select
        register.urn,
        register.snapshot_date,
        case when snapshots.snapshot_order = 1 then cast('1900-01-01' as date) else snapshots.snapshot_date end
            as in_force_from,
        coalesce(snapshots.next_snapshot_date, cast('9999-12-31' as date)) as in_force_until,
        register.provision_type,
        register.provision_group,
        register.registered_as_childrens_home,
        -- agencies (fostering, adoption) are registered where their office is, not where the child lives
        coalesce(register.provision_group not in ('Fostering', 'Adoption'), true) as is_lived_in_setting,
        register.sector,
        register.places,
        register.la_gss_code as ofsted_la_gss_code,
        lineage.current_la_gss_code as la_gss_code,
        register.registration_date,
        register.registration_status,
        register.closed_date,
        register.postcode_district,
        coalesce(lower(register.registration_status) = 'suspended', false) as is_suspended
    from register
    inner join snapshots
        on register.snapshot_date = snapshots.snapshot_date
    left join lineage
        on register.la_gss_code = lineage.la_gss_code

)

select * from final

-- One row per snapshot date x URN: the provider-level file of each snapshot, with the places file of the same
-- publication filling places and owner where the provider-level file leaves them empty, the LA resolved to
-- the GSS code of the authority that name meant on the snapshot date, and the closure date from the
-- closed-homes files.

with

providers as (

    {{ latest_file_per_snapshot(ref('stg_ofsted__providers')) }}

),

places as (

    {{ latest_file_per_snapshot(ref('stg_ofsted__places')) }}

),

closures as (

    select
        urn,
        max(closed_date) as closed_date,
        max(registration_status) as closure_status
    from {{ ref('stg_ofsted__closed_homes') }}
    group by urn

),

la_names as (

    select * from {{ ref('int_local_authority_names_unioned') }}

),

joined as (

    select
        providers.snapshot_date,
        providers.urn,
        providers.linked_education_urn,
        providers.provider_name,
        providers.provision_type,
        providers.provision_group,
        providers.registered_as_childrens_home,
        providers.is_known_provision_type,
        providers.registration_date,
        providers.registration_status,
        providers.sector,
        coalesce(providers.places, places.places) as places,
        coalesce(providers.owner_name, places.owner_name) as owner_name,
        providers.local_authority_name,
        -- 'Somerset' on a 2021 register means the county council, on an August 2023 one the new unitary
        case
            when providers.snapshot_date < la_names.predecessor_until then la_names.predecessor_la_gss_code
            else la_names.la_gss_code
        end as la_gss_code,
        providers.government_office_region,
        providers.ofsted_region,
        providers.postcode,
        providers.latest_inspection_date,
        providers.overall_effectiveness,
        providers.outcomes_in_education,
        providers.health_services,
        providers.help_and_protection,
        providers.leadership_and_management,
        closures.closed_date,
        closures.closure_status,
        providers.source_file,
        providers.file_sha256,
        providers.source_row_number,
        providers.load_id
    from providers
    left join places
        on
            providers.snapshot_date = places.snapshot_date
            and providers.urn = places.urn
    left join closures
        on providers.urn = closures.urn
    left join la_names
        on {{ normalised_name('providers.local_authority_name') }} = la_names.normalised_name

)

select * from joined

with

source as (

    select * from {{ source('ofsted', 'ofsted_providers') }}
    where {{ included_files_only() }}

),

provision_types as (

    select * from {{ ref('ofsted_provision_types') }}

),

renamed as (

    select
        upper(trim(source.urn)) as urn,
        source.reference_date as snapshot_date,
        nullif(trim(source.linked_education_urn), '') as linked_education_urn,
        coalesce(provision_types.provision_type, trim(source.provision_type)) as provision_type,
        coalesce(provision_types.provision_group, 'Other') as provision_group,
        coalesce(provision_types.registered_as_childrens_home, false) as registered_as_childrens_home,
        provision_types.provision_type_key is not null as is_known_provision_type,
        {{ parse_date('source.registration_date') }} as registration_date,
        trim(source.registration_status) as registration_status,
        {{ withheld_as_null('source.provider_name') }} as provider_name,
        {{ withheld_as_null('source.postcode') }} as postcode,
        {{ withheld_as_null('source.town') }} as town,
        trim(source.ofsted_region) as ofsted_region,
        trim(source.government_office_region) as government_office_region,
        trim(source.local_authority) as local_authority_name,
        trim(source.parliamentary_constituency) as parliamentary_constituency,
        {{ canonical_sector('source.sector') }} as sector,
        {{ parse_integer('source.places') }} as places,
        nullif(trim(source.owner_name), '') as owner_name,
        trim(source.inspection_event_type) as latest_inspection_event_type,
        {{ parse_date('source.inspection_date') }} as latest_inspection_date,
        {{ parse_date('source.publication_date') }} as latest_inspection_published_date,
        {{ canonical_rating('source.overall_effectiveness') }} as overall_effectiveness,
        {{ canonical_rating('source.outcomes_in_education') }} as outcomes_in_education,
        {{ canonical_rating('source.health_services') }} as health_services,
        {{ canonical_rating('source.help_and_protection') }} as help_and_protection,
        {{ canonical_rating('source.leadership_and_management') }} as leadership_and_management,
        -- judgements of the inspection framework before 2017
        {{ canonical_rating('source.outcomes_for_children') }} as outcomes_for_children,
        {{ canonical_rating('source.quality_of_care') }} as quality_of_care,
        source.source_file,
        source.file_sha256,
        source.source_row_number,
        source.load_id
    from source
    left join provision_types
        on lower(trim(source.provision_type)) = provision_types.provision_type_key

)

select * from renamed

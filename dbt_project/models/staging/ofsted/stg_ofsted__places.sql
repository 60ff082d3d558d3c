with

source as (

    select * from {{ source('ofsted', 'ofsted_places') }}
    where {{ included_files_only() }}

),

provision_types as (

    select * from {{ ref('ofsted_provision_types') }}

),

renamed as (

    select
        upper(trim(source.urn)) as urn,
        source.reference_date as snapshot_date,
        trim(source.provision_type) as provision_type,
        coalesce(provision_types.provision_group, 'Other') as provision_group,
        coalesce(provision_types.registered_as_childrens_home, false) as registered_as_childrens_home,
        {{ parse_date('source.registration_date') }} as registration_date,
        trim(source.registration_status) as registration_status,
        {{ canonical_sector('source.sector') }} as sector,
        trim(source.local_authority) as local_authority_name,
        {{ parse_integer('source.places') }} as places,
        nullif(trim(source.owner_name), '') as owner_name,
        source.source_file,
        source.file_sha256,
        source.source_row_number,
        source.load_id
    from source
    left join provision_types
        on lower(trim(source.provision_type)) = provision_types.provision_type_key

)

select * from renamed

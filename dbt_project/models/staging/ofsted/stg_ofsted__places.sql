with

source as (

    select * from {{ source('ofsted', 'ofsted_places') }}

),

renamed as (

    select
        upper(trim(urn)) as urn,
        reference_date as snapshot_date,
        trim(provision_type) as provision_type,
        trim(local_authority) as local_authority_name,
        {{ parse_integer('places') }} as places,
        nullif(trim(owner_name), '') as owner_name,
        source_file,
        file_sha256,
        source_row_number,
        load_id
    from source

)

select * from renamed

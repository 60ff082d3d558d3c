with

source as (

    select * from {{ source('ofsted', 'ofsted_closed_homes') }}
    where {{ included_files_only() }}

),

renamed as (

    select
        upper(trim(urn)) as urn,
        reference_date as snapshot_date,
        trim(registration_status) as registration_status,
        {{ parse_date('date_closed') }} as closed_date,
        source_file,
        file_sha256,
        source_row_number,
        load_id
    from source

)

select * from renamed

-- One row per (name as written somewhere, register code) from the mySociety name lookup.

with

source as (

    select * from {{ ref('lookup_name_to_registry') }}

),

renamed as (

    select
        "la-name" as la_name,
        "local-authority-code" as la_registry_code
    from source

)

select * from renamed

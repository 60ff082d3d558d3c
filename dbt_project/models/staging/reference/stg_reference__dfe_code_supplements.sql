-- One row per authority whose DfE three-digit code the DfE file and the register lack
-- (seed la_dfe_codes_supplement.csv).

with

source as (

    select * from {{ ref('la_dfe_codes_supplement') }}

),

renamed as (

    select
        upper(trim(la_gss_code)) as la_gss_code,
        trim(la_dfe_code) as la_dfe_code,
        trim(la_name) as la_name,
        note
    from source

)

select * from renamed

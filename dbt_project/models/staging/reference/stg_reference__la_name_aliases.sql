-- One row per analyst-added name alias (seed la_name_aliases.csv).

with

source as (

    select * from {{ ref('la_name_aliases') }}

),

renamed as (

    select
        trim(alias) as la_alias,
        upper(trim(la_gss_code)) as la_gss_code,
        note
    from source

)

select * from renamed

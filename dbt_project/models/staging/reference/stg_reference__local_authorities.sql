-- One row per local authority in the mySociety register (all UK nations, current and former), renamed and typed.
-- List-like text columns (alt names, replaced-by, former GSS codes) stay text here; the intermediate layer splits them.

with

source as (

    select * from {{ ref('uk_local_authorities') }}

),

renamed as (

    select
        "local-authority-code" as la_registry_code,
        "gss-code" as la_gss_code,
        "old-ons-la-code" as old_ons_la_code,
        "official-name" as la_official_name,
        "nice-name" as la_nice_name,
        "alt-names" as alt_names_text,
        "local-authority-type" as la_type,
        "local-authority-type-name" as la_type_name,
        nation,
        region as region_name,
        cast("start-date" as date) as start_date,
        cast("end-date" as date) as end_date,
        "replaced-by" as replaced_by_registry_codes_text,
        "former-gss-codes" as former_gss_codes_text,
        coalesce("current-authority" = 'True', false) as is_current,
        powers,
        "county-la" as county_registry_code,
        "combined-authority" as combined_authority_registry_code,
        coalesce(
            nation = 'England' and "local-authority-type" in ('CTY', 'UA', 'MD', 'LBO', 'CC'),
            false
        ) as is_childrens_services_authority
    from source

)

select * from renamed

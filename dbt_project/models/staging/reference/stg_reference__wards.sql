-- One row per 2021 electoral ward in England: ward -> local authority district -> county -> region (ONS).

with

source as (

    select * from {{ ref('ONS_Area_WD21_LAD21_CTY21_RGN21') }}

),

renamed as (

    select
        _wd21cd as ward_gss_code,
        wd21nm as ward_name,
        lad21cd as lad_gss_code,
        lad21nm as lad_name,
        cty21cd as county_gss_code,
        cty21nm as county_name,
        rgn21cd as region_gss_code,
        rgn21nm as region_name,
        ctry21cd as country_gss_code,
        ctry21nm as country_name
    from source

)

select * from renamed

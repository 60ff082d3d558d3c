-- One row per LA x collection year (the year ending 31 March) from the LA's first to its last loaded SSDA903
-- return: the 31 March spine of the sufficiency marts.

with

episodes as (

    select * from {{ ref('stg_ssda903__episodes') }}

),

la_years as (

    select
        la_gss_code,
        max(la_dfe_code) as la_dfe_code,
        min(collection_year) as first_collection_year,
        max(collection_year) as last_collection_year
    from episodes
    group by la_gss_code

),

years as (

    select distinct collection_year from episodes

),

final as (

    select
        la_years.la_gss_code,
        la_years.la_dfe_code,
        years.collection_year,
        make_date(years.collection_year - 1, 4, 1) as year_start_date,
        make_date(years.collection_year, 3, 31) as as_at_date
    from la_years
    inner join years
        on years.collection_year between la_years.first_collection_year and la_years.last_collection_year

)

select * from final

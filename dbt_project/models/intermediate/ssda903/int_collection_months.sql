-- One row per LA x month of every collection year in int_collection_years (April to March): the month spine of
-- the monthly sufficiency marts. "Month" is the month's first day; month_end_date its last.

with

collection_years as (

    select * from {{ ref('int_collection_years') }}

),

calendar_months as (

    select months_of_year.month_of_year
    from (
        values (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12)
    ) as months_of_year (month_of_year)

),

months as (

    select
        collection_years.la_gss_code,
        collection_years.la_dfe_code,
        collection_years.collection_year,
        make_date(
            collection_years.collection_year - case when calendar_months.month_of_year >= 4 then 1 else 0 end,
            calendar_months.month_of_year,
            1
        ) as month  -- noqa: RF04
    from collection_years
    cross join calendar_months

),

final as (

    select
        la_gss_code,
        la_dfe_code,
        collection_year,
        month,  -- noqa: RF04
        {{ last_day_of_month('month') }} as month_end_date
    from months

)

select * from final

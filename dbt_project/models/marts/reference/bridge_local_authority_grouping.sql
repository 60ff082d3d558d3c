-- One row per children's services authority x grouping it belongs to: its government office region
-- (grouping_type 'region') and every configured consortium or other grouping in seeds/la_groupings.csv, so that
-- "LAs in region R" and "LAs in consortium C" are the same query.

with

authorities as (

    select * from {{ ref('int_local_authorities_joined') }}

),

configured as (

    select * from {{ ref('stg_reference__la_groupings') }}

),

regions as (

    select
        la_gss_code,
        'region' as grouping_type,
        government_office_region_name as grouping_name,
        government_office_region_code as grouping_code
    from authorities
    where government_office_region_name is not null

),

configured_groupings as (

    select
        la_gss_code,
        grouping_type,
        grouping_name,
        cast(null as varchar) as grouping_code
    from configured

),

unioned as (

    select * from regions
    union all
    select * from configured_groupings

),

final as (

    select
        unioned.la_gss_code,
        unioned.grouping_type,
        unioned.grouping_name,
        unioned.grouping_code,
        authorities.la_name,
        authorities.la_dfe_code,
        authorities.is_current
    from unioned
    -- a left join, so that a seed code that is not a children's services authority fails the not_null tests
    left join authorities
        on unioned.la_gss_code = authorities.la_gss_code

)

select * from final

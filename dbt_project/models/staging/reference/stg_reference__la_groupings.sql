-- One row per (grouping type, grouping name, member LA) from the analyst-edited seed la_groupings.csv.

with

source as (

    select * from {{ ref('la_groupings') }}

),

renamed as (

    select
        lower(trim(grouping_type)) as grouping_type,
        trim(grouping_name) as grouping_name,
        upper(trim(la_gss_code)) as la_gss_code,
        trim(la_name) as la_name_as_entered
    from source

)

select * from renamed

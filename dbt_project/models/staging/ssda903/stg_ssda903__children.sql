-- One row per LA x child from the header tables: sex, month of birth, ethnicity; the latest return wins.

with

source as (

    select * from {{ source('ssda903', 'ssda903_header') }}
    where {{ included_files_only() }}

),

renamed as (

    select
        la_gss_code,
        la_dfe_code,
        child_id,
        trim(sex) as sex_code,
        -- 1 / 2 to 2023-24, M / F / U (unknown) from 2024-25
        case upper(trim(sex))
            when '1' then 'male' when 'M' then 'male'
            when '2' then 'female' when 'F' then 'female'
            when 'U' then 'unknown'
        end as sex,
        dob_month,
        upper(trim(ethnic)) as ethnicity,
        collection_year,
        source_file,
        file_sha256,
        source_row_number,
        load_id
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by la_gss_code, child_id
            order by {{ latest_return_first() }}
        ) as return_rank,
        min(collection_year) over (partition by la_gss_code, child_id) as first_collection_year
    from renamed

),

final as (

    select
        la_gss_code,
        la_dfe_code,
        child_id,
        sex_code,
        sex,
        dob_month,
        ethnicity,
        first_collection_year,
        collection_year,
        source_file,
        file_sha256,
        source_row_number,
        load_id
    from ranked
    where return_rank = 1

)

select * from final

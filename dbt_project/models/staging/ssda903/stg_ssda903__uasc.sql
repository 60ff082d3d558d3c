-- One row per LA x child ever reported in a UASC table (unaccompanied asylum-seeking child); the latest return's
-- row wins.

with

source as (

    select * from {{ source('ssda903', 'ssda903_uasc') }}
    where {{ included_files_only() }}

),

renamed as (

    select
        la_gss_code,
        la_dfe_code,
        child_id,
        trim(sex) as sex_code,
        dob_month,
        duc as date_uasc_ceased,
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
        dob_month,
        date_uasc_ceased,
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

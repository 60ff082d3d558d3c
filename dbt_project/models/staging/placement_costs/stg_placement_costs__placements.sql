-- One row per placement (hashed reference) x financial year. An extract re-reports placements of earlier years,
-- and a re-issued extract repeats its year: the latest extract wins (the highest extract financial year, then
-- the latest source file, then the highest row number) and keeps its lineage.

with

source as (

    select * from {{ source('placement_costs', 'placement_costs') }}
    where {{ included_files_only() }}

),

renamed as (

    select
        la_gss_code,
        la_dfe_code,
        placement_key,
        financial_year,
        nullif(trim(placing_authority), '') as placing_authority,
        nullif(trim(provider), '') as provider,  -- noqa: RF04
        nullif(trim(establishment), '') as establishment,
        nullif(upper(trim(urn)), '') as urn,
        placement_type,
        placement_type_label,
        commissioning_route,
        commissioning_route_label,
        start_date,
        end_date,
        weekly_cost,
        social_care_contribution,
        education_contribution,
        health_contribution,
        is_crisis,
        warning_rules,
        extract_financial_year,
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
            partition by placement_key, financial_year
            order by extract_financial_year desc, source_file desc, source_row_number desc
        ) as extract_rank,
        count(*) over (partition by placement_key, financial_year) as extracts_reporting
    from renamed

),

final as (

    select
        la_gss_code,
        la_dfe_code,
        placement_key,
        financial_year,
        placing_authority,
        provider,
        establishment,
        urn,
        placement_type,
        placement_type_label,
        commissioning_route,
        commissioning_route_label,
        start_date,
        end_date,
        weekly_cost,
        social_care_contribution,
        education_contribution,
        health_contribution,
        is_crisis,
        warning_rules,
        extracts_reporting,
        extract_financial_year,
        source_file,
        file_sha256,
        source_row_number,
        load_id
    from ranked
    where extract_rank = 1

)

select * from final

-- One row per LA x child x episode start (DECOM). Each return re-reports the episodes still open at the start of
-- its year, so the same episode arrives in several returns: the latest return wins (highest collection year,
-- then the latest source file, then the highest row number) and keeps its lineage.

with

source as (

    select * from {{ source('ssda903', 'ssda903_episodes') }}
    where {{ included_files_only() }}

),

renamed as (

    select
        la_gss_code,
        la_dfe_code,
        child_id,
        decom as episode_start_date,
        dec as episode_end_date,
        upper(trim(rne)) as reason_new_episode,
        upper(trim(ls)) as legal_status,
        upper(trim(cin)) as category_of_need,
        upper(trim(place)) as place,
        upper(trim(place_provider)) as place_provider,
        upper(trim(rec)) as reason_episode_ceased,
        upper(trim(reason_place_change)) as reason_place_change,
        upper(trim(home_postcode_district)) as home_postcode_district,
        upper(trim(placement_postcode_district)) as placement_postcode_district,
        upper(trim(urn)) as urn,
        placement_la_gss_code,
        distance_miles,
        home_postcode_found,
        placement_postcode_found,
        warning_rules,
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
            partition by la_gss_code, child_id, episode_start_date
            order by {{ latest_return_first() }}
        ) as return_rank
    from renamed

),

returns as (

    select
        la_gss_code,
        child_id,
        episode_start_date,
        count(distinct collection_year) as returns_reporting
    from renamed
    group by la_gss_code, child_id, episode_start_date

),

final as (

    select
        ranked.la_gss_code,
        ranked.la_dfe_code,
        ranked.child_id,
        ranked.episode_start_date,
        ranked.episode_end_date,
        ranked.reason_new_episode,
        ranked.legal_status,
        ranked.category_of_need,
        ranked.place,
        nullif(ranked.place_provider, '') as place_provider,
        ranked.reason_episode_ceased,
        ranked.reason_place_change,
        nullif(ranked.home_postcode_district, '') as home_postcode_district,
        nullif(ranked.placement_postcode_district, '') as placement_postcode_district,
        case when ranked.urn not in ('', 'XXXXXXX') then ranked.urn end as urn,
        coalesce(ranked.urn = 'XXXXXXX', false) as is_urn_placeholder,
        ranked.placement_la_gss_code,
        ranked.distance_miles,
        ranked.home_postcode_found,
        ranked.placement_postcode_found,
        ranked.warning_rules,
        returns.returns_reporting,
        ranked.collection_year,
        ranked.source_file,
        ranked.file_sha256,
        ranked.source_row_number,
        ranked.load_id
    from ranked
    inner join returns
        on
            ranked.la_gss_code = returns.la_gss_code
            and ranked.child_id = returns.child_id
            and ranked.episode_start_date = returns.episode_start_date
    where ranked.return_rank = 1

)

select * from final

-- What this build publishes, return by return: one row per source x LA x period (x ledger file for spend, whose
-- files are returns of their own). A return is included (every file as sent), carried forward (a newer version
-- of one of its files was held back, the last good version stands) or held back (nothing of it is used). An LA
-- that a configured region or consortium expects for a period in which some of its members sent that source,
-- and that sent nothing, is missing.

with

return_files as (

    select
        *,
        case
            when source = 'ssda903' then cast(year(reference_date) as varchar)
            when source in ('placement_costs', 'spend') then {{ financial_year_label('reference_date') }}
            else cast(reference_date as varchar)
        end as period
    from {{ source('audit', 'return_files') }}

),

included_files as (

    select * from {{ source('audit', 'included_files') }}

),

held_back_files as (

    select * from {{ source('audit', 'held_back_files') }}

),

holds as (

    select * from {{ source('audit', 'return_holds') }}

),

groupings as (

    select * from {{ ref('bridge_local_authority_grouping') }}

),

authorities as (

    select * from {{ ref('dim_local_authority') }}

),

lineage as (

    select * from {{ ref('int_local_authority_lineage') }}

),

spend_classification as (

    select * from {{ ref('mart_spend_classification_coverage') }}

),

-- the latest load of each part of a return (audit.return_files.version_key) says whether it is used as sent
latest_versions as (

    select
        return_files.*,
        dense_rank() over (
            partition by return_files.version_key
            order by return_files.load_loaded_at desc, return_files.load_id desc
        ) as version_rank
    from return_files

),

file_states as (

    select
        latest_versions.source,
        latest_versions.la_gss_code,
        latest_versions.period,
        latest_versions.return_key,
        latest_versions.path,
        latest_versions.file_sha256,
        latest_versions.error,
        case
            when latest_versions.status = 'failed' then 'failed'
            when held_back_files.file_sha256 is not null then 'held_back'
            else 'included'
        end as file_state
    from latest_versions
    left join held_back_files
        on latest_versions.file_sha256 = held_back_files.file_sha256
    where latest_versions.version_rank = 1

),

reasons as (

    select
        file_states.return_key,
        holds.check_name,
        min(holds.message) as message
    from file_states
    inner join holds
        on file_states.file_sha256 = holds.file_sha256
    group by file_states.return_key, holds.check_name

    union all

    select
        return_key,
        'load' as check_name,
        min(path || ': ' || error) as message
    from file_states
    where file_state = 'failed'
    group by return_key

),

reasons_by_return as (

    select
        return_key,
        string_agg(check_name, '; ' order by check_name) as check_names,
        string_agg(message, ' | ' order by check_name) as reason
    from reasons
    group by return_key

),

standing as (

    select
        return_key,
        count(*) as files_included,
        max(loaded_at) as included_loaded_at
    from included_files
    group by return_key

),

returns as (

    select
        file_states.source,
        file_states.la_gss_code,
        file_states.period,
        file_states.return_key,
        count(*) filter (where file_states.file_state <> 'included') as files_not_as_sent,
        string_agg(file_states.path, '; ' order by file_states.path) as files,
        string_agg(file_states.file_sha256, '; ' order by file_states.path) as file_sha256s,
        string_agg(
            case when file_states.file_state <> 'included' then file_states.path end, '; '
            order by file_states.path
        ) as files_held_back
    from file_states
    group by file_states.source, file_states.la_gss_code, file_states.period, file_states.return_key

),

sent as (

    select
        returns.source,
        returns.la_gss_code,
        returns.period,
        returns.return_key,
        case
            when returns.files_not_as_sent = 0 then 'included'
            when coalesce(standing.files_included, 0) > 0 then 'carried_forward'
            else 'held_back'
        end as status,
        coalesce(standing.files_included, 0) as files_included,
        standing.included_loaded_at,
        reasons_by_return.check_names,
        reasons_by_return.reason,
        returns.files,
        returns.file_sha256s,
        returns.files_held_back
    from returns
    left join standing
        on returns.return_key = standing.return_key
    left join reasons_by_return
        on returns.return_key = reasons_by_return.return_key

),

-- each return counts for today's authority and, for a split county, for the authorities carved from it
sent_for_member as (

    select distinct
        sent.source,
        sent.period,
        members.la_gss_code as member_la_gss_code
    from sent
    inner join lineage as members
        on
            sent.la_gss_code = members.la_gss_code
            or sent.la_gss_code = members.predecessor_la_gss_code
            or sent.la_gss_code = members.current_la_gss_code
    where sent.source in ('ssda903', 'placement_costs', 'spend') and sent.period is not null

),

expected as (

    select distinct
        sent_for_member.source,
        sent_for_member.period,
        expected_members.la_gss_code
    from sent_for_member
    inner join groupings as reporting_groupings
        on sent_for_member.member_la_gss_code = reporting_groupings.la_gss_code
    inner join groupings as expected_members
        on
            reporting_groupings.grouping_type = expected_members.grouping_type
            and reporting_groupings.grouping_name = expected_members.grouping_name
    where expected_members.is_current

),

missing as (

    select
        expected.source,
        expected.la_gss_code,
        expected.period,
        expected.source || '|' || expected.la_gss_code || '|' || expected.period as return_key,
        'missing' as status,
        0 as files_included,
        cast(null as timestamp) as included_loaded_at,
        cast(null as varchar) as check_names,
        'no return from this authority, which a region or consortium it belongs to expects' as reason,
        cast(null as varchar) as files,
        cast(null as varchar) as file_sha256s,
        cast(null as varchar) as files_held_back
    from expected
    left join sent_for_member
        on
            expected.source = sent_for_member.source
            and expected.period = sent_for_member.period
            and expected.la_gss_code = sent_for_member.member_la_gss_code
    where sent_for_member.member_la_gss_code is null

),

unioned as (

    select * from sent
    union all
    select * from missing

),

final as (

    select
        unioned.source,
        unioned.la_gss_code,
        authorities.la_name,
        unioned.period,
        unioned.return_key,
        unioned.status,
        unioned.status in ('included', 'carried_forward') as is_published,
        cast(unioned.files_included as bigint) as files_included,
        unioned.included_loaded_at,
        unioned.check_names,
        unioned.reason,
        unioned.files,
        unioned.file_sha256s,
        unioned.files_held_back,
        spend_classification.placement_share as spend_placement_share,
        case
            when unioned.source = 'spend' and unioned.status in ('included', 'carried_forward')
                then coalesce(
                    spend_classification.note,
                    'children''s placements: ' || cast(round(100 * spend_classification.placement_share, 1) as varchar)
                    || '% of ' || coalesce(authorities.la_name, unioned.la_gss_code) || '''s ledger spend in '
                    || unioned.period
                )
        end as spend_classification_note
    from unioned
    left join authorities
        on unioned.la_gss_code = authorities.la_gss_code
    left join spend_classification
        on
            unioned.source = 'spend'
            and unioned.la_gss_code = spend_classification.la_gss_code
            and unioned.period = spend_classification.financial_year

)

select * from final

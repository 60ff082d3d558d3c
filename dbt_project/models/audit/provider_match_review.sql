{{ config(schema='audit', materialized='table') }}

-- What an analyst should look at in the provider-group resolution, most children's placement spend first:
-- links made below the confidence threshold, near misses that were not linked, suppliers with high children's
-- placement spend (var provider_review_min_spend, £50,000 by default) and no match at all, names
-- taken for a private individual, and names with no letters. A decision written into
-- seeds/providers/provider_group_overrides.csv (the override_line column is one to start from) takes the name
-- off this list at the next build.

with

resolved as (

    select * from {{ ref('int_provider_names_resolved') }}

),

decided as (

    select * from {{ ref('int_provider_group_overrides_keyed') }}

),

groups as (

    select * from {{ ref('int_provider_groups') }}

),

-- children's placement spend per supplier name, to put the costliest names first
placement_spend as (

    select
        classified_lines.supplier_key as match_key,
        sum(classified_lines.amount) as placement_spend
    from {{ ref('int_spend__lines_classified') }} as classified_lines
    inner join {{ ref('spend_categories') }} as categories
        on classified_lines.spend_category = categories.spend_category
    where categories.is_childrens_placement and classified_lines.supplier_key is not null
    group by classified_lines.supplier_key

),

flagged as (

    select
        resolved.*,
        placement_spend.placement_spend,
        case
            when resolved.link_method = 'scored' and resolved.link_score < {{ var('provider_link_confident', 0.95) }}
                then 'linked below the confidence threshold'
            when resolved.link_method = 'own name' and resolved.candidate_score is not null
                then 'near miss, not linked'
            when resolved.link_method = 'individual' then 'taken for a private individual'
            when resolved.has_no_letters then 'name has no letters'
            when
                resolved.link_method = 'own name'
                and placement_spend.placement_spend >= {{ var('provider_review_min_spend', 50000) }}
                then 'high spend, no match'
        end as review_reason
    from resolved
    left join placement_spend
        on resolved.match_key = placement_spend.match_key
    where resolved.match_key not in (select decided.match_key from decided)

),

final as (

    select
        row_number() over (
            order by flagged.placement_spend desc nulls last, flagged.spend desc nulls last, flagged.match_key asc
        ) as review_rank,
        flagged.review_reason,
        flagged.organisation_name,
        flagged.match_key,
        flagged.sources,
        cast(flagged.placement_spend as decimal(18, 2)) as childrens_placement_spend,
        cast(flagged.spend as decimal(18, 2)) as spend,
        flagged.las,
        flagged.link_method,
        flagged.link_score,
        flagged.group_id as provider_group_id,
        linked.provider_group_name,
        flagged.candidate_name,
        flagged.candidate_group_id,
        candidate.provider_group_name as candidate_group_name,
        flagged.candidate_score,
        flagged.runner_up_score,
        '"' || replace(flagged.organisation_name, '"', '""') || '",belongs to,'
        || coalesce(flagged.candidate_group_id, flagged.group_id) || ',,<reason>,<analyst>,<date>' as override_line
    from flagged
    left join groups as linked
        on flagged.group_id = linked.provider_group_id
    left join groups as candidate
        on flagged.candidate_group_id = candidate.provider_group_id
    where flagged.review_reason is not null

)

select * from final

{{ config(schema='audit', materialized='view') }}

-- What the classification learned from each council's own ledgers (intermediate.int_spend__words_learned): the
-- council, the words, the evidence (money and lines paid to known providers under them) and the rule each became.

with

learned as (

    select * from {{ ref('int_spend__words_learned') }}

),

local_authorities as (

    select * from {{ ref('dim_local_authority') }}

),

final as (

    select
        learned.la_gss_code,
        local_authorities.la_name,
        learned.learned_field,
        learned.learned_value,
        learned.provider_lines,
        learned.provider_amount,
        learned.line_count,
        learned.absolute_amount,
        learned.provider_share,
        learned.provider_groups,
        learned.is_learned,
        learned.is_learned_for_care_names,
        case
            when learned.is_learned
                then
                    'other lines of ' || coalesce(local_authorities.la_name, learned.la_gss_code) || ' under '
                    || learned.learned_field || ' "' || learned.learned_value || '" are ' || learned.learned_category
                    || ' (for review)'
            when learned.is_learned_for_care_names
                then
                    'weaker words: other lines of ' || coalesce(local_authorities.la_name, learned.la_gss_code)
                    || ' under ' || learned.learned_field || ' "' || learned.learned_value
                    || '" are placements when the supplier is named like a care provider (for review)'
            else
                'not learned: ' || learned.provider_groups || ' provider group(s) took '
                || cast(round(100 * learned.provider_share) as integer) || '% of the money in '
                || learned.provider_lines || ' line(s); needed ' || cast(round(100 * learned.min_share) as integer)
                || '% in ' || {{ var('spend_learned_min_lines', 2) }} || ' lines from '
                || {{ var('spend_learned_min_providers', 2) }} || ' groups'
        end as learned_rule
    from learned
    left join local_authorities
        on learned.la_gss_code = local_authorities.la_gss_code

)

select * from final

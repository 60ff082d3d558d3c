-- One row per LA x financial year of ledgers: how much of the council's spend was classified as children's
-- placements, as other children's social care, as unclassified children's services and as not children's, and
-- how the placements were found (who is paid, the vocabulary, the council's learned words). A regional lead reads
-- here at a glance whether a council's placements were found; a year with none says so in `note` (and in
-- marts.build_coverage): the figure lacks data, it is not zero spend.

with

lines as (

    select * from {{ ref('int_spend__lines_classified') }}

),

categories as (

    select * from {{ ref('spend_categories') }}

),

local_authorities as (

    select * from {{ ref('dim_local_authority') }}

),

per_year as (

    select
        lines.la_gss_code,
        lines.financial_year,
        count(*) as transaction_count,
        sum(lines.amount) as total_spend,
        coalesce(sum(lines.amount) filter (where categories.is_childrens_placement), 0) as placement_spend,
        coalesce(
            sum(lines.amount) filter (where lines.spend_category = 'other children''s social care'), 0
        ) as other_childrens_social_care_spend,
        coalesce(
            sum(lines.amount) filter (where lines.spend_category = 'unclassified children''s services'), 0
        ) as unclassified_childrens_services_spend,
        coalesce(
            sum(lines.amount) filter (where lines.spend_category = 'not children''s placements'), 0
        ) as not_childrens_placements_spend,
        coalesce(
            sum(lines.amount) filter (where categories.is_childrens_placement and lines.rule_id = 'WHO_IS_PAID'), 0
        ) as placement_spend_who_is_paid,
        coalesce(
            sum(lines.amount) filter (where categories.is_childrens_placement and lines.rule_id = 'VOCABULARY'), 0
        ) as placement_spend_vocabulary,
        coalesce(
            sum(lines.amount) filter (where categories.is_childrens_placement and lines.rule_id = 'LEARNED'), 0
        ) as placement_spend_learned_words,
        count(*) filter (where categories.is_childrens_placement) as placement_transactions,
        count(*) filter (where lines.needs_review) as transactions_to_review
    from lines
    inner join categories
        on lines.spend_category = categories.spend_category
    group by lines.la_gss_code, lines.financial_year

),

final as (

    select
        per_year.la_gss_code,
        local_authorities.la_name,
        per_year.financial_year,
        per_year.transaction_count,
        cast(per_year.total_spend as decimal(18, 2)) as total_spend,
        cast(per_year.placement_spend as decimal(18, 2)) as placement_spend,
        cast(per_year.placement_spend / nullif(per_year.total_spend, 0) as double) as placement_share,
        cast(per_year.other_childrens_social_care_spend as decimal(18, 2)) as other_childrens_social_care_spend,
        cast(per_year.other_childrens_social_care_spend / nullif(per_year.total_spend, 0) as double)
            as other_childrens_social_care_share,
        cast(per_year.unclassified_childrens_services_spend as decimal(18, 2))
            as unclassified_childrens_services_spend,
        cast(per_year.unclassified_childrens_services_spend / nullif(per_year.total_spend, 0) as double)
            as unclassified_childrens_services_share,
        cast(per_year.not_childrens_placements_spend as decimal(18, 2)) as not_childrens_placements_spend,
        cast(per_year.placement_spend_who_is_paid as decimal(18, 2)) as placement_spend_who_is_paid,
        cast(per_year.placement_spend_vocabulary as decimal(18, 2)) as placement_spend_vocabulary,
        cast(per_year.placement_spend_learned_words as decimal(18, 2)) as placement_spend_learned_words,
        cast(per_year.placement_spend_learned_words / nullif(per_year.total_spend, 0) as double)
            as learned_words_share,
        per_year.placement_transactions,
        per_year.transactions_to_review,
        per_year.placement_transactions > 0 as placements_found,
        case
            when per_year.placement_transactions = 0
                then
                    'no children''s placement spend found in '
                    || coalesce(local_authorities.la_name, per_year.la_gss_code)
                    || '''s ledgers for ' || per_year.financial_year
        end as note
    from per_year
    left join local_authorities
        on per_year.la_gss_code = local_authorities.la_gss_code

)

select * from final

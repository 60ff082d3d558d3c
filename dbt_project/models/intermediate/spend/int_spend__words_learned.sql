-- Each council's own placement words, learned from its own ledgers: one row per LA x field (expense code,
-- service area with expense type, expense type, classification, service area) x value under which the council
-- paid suppliers known as placement providers ("who is paid", int_spend__lines_grouped). The evidence is the
-- money and lines paid to known providers under the words against all money under them; the words become a
-- rule (learned = true) when known providers take at least var spend_learned_min_share of that money (for a
-- whole service area var spend_learned_min_share_service_area) in at least var spend_learned_min_lines lines
-- and from at least var spend_learned_min_providers provider groups (one provider's own contract never makes its
-- words a council's placement words). Weaker words (known providers take at least var
-- spend_learned_min_share_care_names, 0.2, from two groups) speak only for an unknown organisation whose name
-- is a care provider's (is_learned_for_care_names).
-- The rule classifies the council's other lines under those words as the placement kind most of that
-- provider money went to (providers that run one kind of setting first), flagged for review. Lines whose words
-- override who is paid (training, rent, adult care) are no evidence. Never across councils: every key holds
-- the LA.

with

signatures as (

    select * from {{ ref('int_spend__signatures_matched') }}

),

evidence_lines as (

    select
        *,
        supplier_spend_category is not null and not vocabulary_overrides_who_is_paid as is_known_provider
    from signatures

),

field_values as (

    {% for learned_field, value_sql, present_sql in spend_learned_fields() %}
        select
            '{{ learned_field }}' as learned_field,
            {{ value_sql }} as learned_value,
            evidence_lines.*
        from evidence_lines
        where {{ present_sql }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

evidence as (

    select
        la_gss_code,
        learned_field,
        learned_value,
        sum(line_count) as line_count,
        sum(absolute_amount) as absolute_amount,
        coalesce(sum(line_count) filter (where is_known_provider), 0) as provider_lines,
        coalesce(sum(absolute_amount) filter (where is_known_provider), 0) as provider_absolute_amount,
        coalesce(sum(amount) filter (where is_known_provider), 0) as provider_amount,
        count(distinct known_provider_group_id) filter (where is_known_provider) as provider_groups
    from field_values
    group by la_gss_code, learned_field, learned_value

),

kinds as (

    select
        la_gss_code,
        learned_field,
        learned_value,
        supplier_spend_category as learned_category,
        -- the kind of providers that run one kind only is certain; a group running several is taken as its main
        row_number() over (
            partition by la_gss_code, learned_field, learned_value
            order by
                sum(absolute_amount) filter (where not supplier_runs_several_kinds) desc nulls last,
                sum(absolute_amount) desc,
                supplier_spend_category asc
        ) as kind_rank
    from field_values
    where is_known_provider
    group by la_gss_code, learned_field, learned_value, supplier_spend_category

),

final as (

    select
        evidence.la_gss_code,
        evidence.learned_field,
        evidence.learned_value,
        kinds.learned_category,
        evidence.provider_lines,
        cast(evidence.provider_amount as decimal(18, 2)) as provider_amount,
        evidence.line_count,
        cast(evidence.absolute_amount as decimal(18, 2)) as absolute_amount,
        cast(
            evidence.provider_absolute_amount / nullif(evidence.absolute_amount, 0) as double
        ) as provider_share,
        evidence.provider_groups,
        evidence.provider_lines >= {{ var('spend_learned_min_lines', 2) }}
        and evidence.provider_groups >= {{ var('spend_learned_min_providers', 2) }}
        and evidence.provider_absolute_amount >= evidence.absolute_amount * case
            when evidence.learned_field = 'service area' then {{ var('spend_learned_min_share_service_area', 0.75) }}
            else {{ var('spend_learned_min_share', 0.5) }}
        end as is_learned,
        evidence.learned_field <> 'service area'
        and evidence.provider_groups >= {{ var('spend_learned_min_providers', 2) }}
        and evidence.provider_absolute_amount
        >= evidence.absolute_amount * {{ var('spend_learned_min_share_care_names', 0.2) }}
            as is_learned_for_care_names,
        case
            when
                evidence.learned_field = 'service area'
                then {{ var('spend_learned_min_share_service_area', 0.75) }}
            else {{ var('spend_learned_min_share', 0.5) }}
        end as min_share
    from evidence
    inner join kinds
        on
            evidence.la_gss_code = kinds.la_gss_code
            and evidence.learned_field = kinds.learned_field
            and evidence.learned_value = kinds.learned_value
            and kinds.kind_rank = 1

)

select * from final

-- One row per spend transaction (repeats across overlapping files left out) with its spend category and how it
-- was found, first that applies:
-- 1. words that override who is paid (training, rent, capital, equipment, refunds, adult care; seed
--    spend_vocabulary): the words' category;
-- 2. who is paid: a supplier whose provider group runs children's placement settings on the Ofsted register is
--    paid for a placement, in whatever service area or expense type the council files it; the kind is the one
--    the words name, else the group's main kind (flagged for review when the group runs several kinds);
-- 3. the vocabulary: the lowest-priority phrase matching the line's service area, expense type or code,
--    classification, or description;
-- 4. the council's own learned words (int_spend__words_learned), for an organisation (never a person or a
--    withheld name), through the line's most specific words, flagged for review;
-- 5. a person paid in children's services (a carer, a family): 'other children's social care';
-- 6. a line of children's services nothing classifies: 'unclassified children's services', for review;
-- 7. anything else: 'not children's placements'.
-- Classified once per distinct combination of what decides it (int_spend__signatures_matched), not per line.

with

lines as (

    select
        *,
        {{ spend_classification_signature() }} as signature
    from (
        select
            *,
            {{ spend_vocabulary_description() }} as vocabulary_description
        from {{ ref('int_spend__lines_grouped') }}
    ) as described

),

signatures as (

    select * from {{ ref('int_spend__signatures_matched') }}

),

learned as (

    select * from {{ ref('int_spend__words_learned') }}
    where is_learned or is_learned_for_care_names

),

categories as (

    select * from {{ ref('spend_categories') }}

),

-- A council's learned words speak for a line only through its most specific words: its expense code, else its
-- service area with its expense type, else its expense type, classification or service area. A code never used
-- for a known provider stops the line there: "Private Contractors" learned in children's care says nothing of a
-- highways contractor's code.
most_specific_words as (

    select
        signature,
        la_gss_code,
        case
            {% for learned_field, value_sql, present_sql in spend_learned_fields() %}
                when {{ present_sql }} then '{{ learned_field }}'
            {% endfor %}
        end as learned_field,
        case
            {% for learned_field, value_sql, present_sql in spend_learned_fields() %}
                when {{ present_sql }} then {{ value_sql }}
            {% endfor %}
        end as learned_value
    from signatures

),

learned_matches as (

    select
        most_specific_words.signature,
        learned.learned_field,
        learned.learned_value,
        learned.learned_category,
        learned.is_learned
    from most_specific_words
    inner join learned
        on
            most_specific_words.la_gss_code = learned.la_gss_code
            and most_specific_words.learned_field = learned.learned_field
            and most_specific_words.learned_value = learned.learned_value

),

decided as (

    select
        signatures.*,
        vocabulary_categories.is_childrens_placement as vocabulary_is_placement,
        learned_matches.learned_field,
        learned_matches.learned_value,
        -- strong words speak for any organisation; weaker ones only for one named like a care provider. The kind:
        -- a name that says it ("... Fostering", "... School") over the kind the words were learned for
        case
            when
                signatures.supplier_name_category is not null
                and signatures.supplier_name_category <> 'children''s residential'
                then signatures.supplier_name_category
            when learned_matches.is_learned then learned_matches.learned_category
            when signatures.supplier_name_category is not null then signatures.supplier_name_category
        end as learned_category,
        case
            when signatures.vocabulary_overrides_who_is_paid then 'VOCABULARY_OVERRIDE'
            when signatures.supplier_spend_category is not null then 'WHO_IS_PAID'
            when signatures.vocabulary_category is not null then 'VOCABULARY'
            -- learned words speak for organisations: a person, a withheld name, or an academy or college (a
            -- school's budget, a sixth form) is not "an unknown supplier"
            when
                (learned_matches.is_learned or signatures.supplier_name_category is not null)
                and learned_matches.learned_category is not null
                and signatures.supplier_payee not in ('person', 'withheld', 'college')
                then 'LEARNED'
            when signatures.is_childrens_services and signatures.supplier_payee = 'person' then 'PAID_TO_A_PERSON'
            when not signatures.is_childrens_services then 'NOT_CHILDRENS_SERVICES'
        end as rule_id
    from signatures
    left join categories as vocabulary_categories
        on signatures.vocabulary_category = vocabulary_categories.spend_category
    left join learned_matches
        on
            signatures.signature = learned_matches.signature

),

classified_signatures as (

    select
        signature,
        is_childrens_services,
        rule_id,
        learned_field,
        learned_value,
        case
            -- agency staff, legal costs or transport are children's social care only in children's services
            when rule_id in ('VOCABULARY_OVERRIDE', 'VOCABULARY')
                then case
                    when
                        vocabulary_category = 'other children''s social care' and not is_childrens_services
                        then 'not children''s placements'
                    else vocabulary_category
                end
            -- the kind the words name; for a group running several kinds, one of its kinds that the line's words
            -- hint at, else the kind this council's own words were learned for (or the supplier's name says);
            -- else the group's main kind
            when rule_id = 'WHO_IS_PAID'
                then case
                    when vocabulary_is_placement then vocabulary_category
                    when
                        supplier_runs_several_kinds
                        and contains('|' || supplier_spend_categories || '|', '|' || kind_hint || '|')
                        then kind_hint
                    when
                        supplier_runs_several_kinds
                        and contains('|' || supplier_spend_categories || '|', '|' || learned_category || '|')
                        then learned_category
                    else supplier_spend_category
                end
            -- a school paid under placement words is paid for a special school place
            when rule_id = 'LEARNED'
                then case
                    when supplier_payee = 'school' then 'residential school / SEN' else learned_category
                end
            when rule_id = 'PAID_TO_A_PERSON' then 'other children''s social care'
            when rule_id = 'NOT_CHILDRENS_SERVICES' then 'not children''s placements'
            else 'unclassified children''s services'
        end as spend_category,
        case rule_id
            when 'WHO_IS_PAID'
                then
                    'supplier''s group runs ' || supplier_spend_categories
                    || coalesce('; ' || vocabulary_field || ': ' || vocabulary_phrase, '')
                    || case
                        when
                            supplier_runs_several_kinds and not coalesce(vocabulary_is_placement, false)
                            and learned_category is not null
                            then '; ' || learned_field || ' learned as ' || learned_category
                        else ''
                    end
            when 'LEARNED'
                then
                    learned_field || ': ' || learned_value
                    || case when supplier_name_category is not null then ' (and a care provider''s name)' else '' end
            when 'PAID_TO_A_PERSON' then 'a person paid in children''s services (a carer or a family)'
            else vocabulary_field || ': ' || vocabulary_phrase
        end as rule_detail,
        (
            rule_id = 'WHO_IS_PAID'
            and supplier_runs_several_kinds
            and not coalesce(vocabulary_is_placement, false)
        )
        or rule_id = 'LEARNED'
        or rule_id is null as needs_review
    from decided

),

final as (

    select
        lines.la_gss_code,
        lines.financial_year,
        lines.payment_date,
        lines.transaction_id,
        lines.amount,
        lines.supplier_name,
        lines.supplier_key,
        lines.is_supplier_withheld,
        lines.supplier_id,
        lines.company_number,
        lines.charity_number,
        lines.provider_group_id,
        lines.provider_group_name,
        lines.provider_group_method,
        lines.provider_group_score,
        lines.supplier_public_body,
        lines.supplier_spend_category,
        lines.supplier_spend_categories,
        lines.supplier_runs_several_kinds,
        lines.service_area,
        lines.expense_type,
        lines.expense_code,
        lines.classification,
        lines.description,
        classified_signatures.spend_category,
        classified_signatures.rule_id,
        classified_signatures.rule_detail,
        classified_signatures.learned_field,
        classified_signatures.learned_value,
        lines.supplier_payee,
        classified_signatures.is_childrens_services,
        classified_signatures.needs_review,
        lines.is_outside_period,
        lines.copies,
        lines.source_file,
        lines.file_sha256,
        lines.source_row_number,
        lines.load_id
    from lines
    inner join classified_signatures
        on lines.signature = classified_signatures.signature

)

select * from final

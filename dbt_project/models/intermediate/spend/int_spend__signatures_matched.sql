-- One row per distinct combination of what classifies a spend line (its LA, service area, expense type and code,
-- classification, description where nothing else names the expense, and who is paid): its lines and money, and
-- the vocabulary's verdict (the lowest-priority phrase matching any of its fields, int_spend__words_matched).
-- Read twice: by the learning of each council's words (int_spend__words_learned) and by the classification.

with

lines as (

    select
        *,
        {{ spend_vocabulary_description() }} as vocabulary_description
    from {{ ref('int_spend__lines_grouped') }}

),

words as (

    select * from {{ ref('int_spend__words_matched') }}

),

signatures as (

    select
        {{ spend_classification_signature() }} as signature,
        la_gss_code,
        service_area,
        expense_type,
        expense_code,
        classification,
        vocabulary_description,
        supplier_spend_category,
        supplier_spend_categories,
        supplier_runs_several_kinds,
        supplier_payee,
        supplier_name_category,
        known_provider_group_id,
        count(*) as line_count,
        sum(amount) as amount,
        sum(abs(amount)) as absolute_amount
    from lines
    group by all

),

field_matches as (

    select
        signatures.signature,
        'service area' as matched_field,
        words.*
    from signatures
    inner join words
        on words.word_role = 'service' and signatures.service_area = words.field_value

    union all

    select
        signatures.signature,
        'expense type' as matched_field,
        words.*
    from signatures
    inner join words
        on words.word_role = 'expense' and signatures.expense_type = words.field_value

    union all

    select
        signatures.signature,
        'expense code' as matched_field,
        words.*
    from signatures
    inner join words
        on words.word_role = 'expense' and signatures.expense_code = words.field_value

    union all

    select
        signatures.signature,
        'classification' as matched_field,
        words.*
    from signatures
    inner join words
        on words.word_role = 'classification' and signatures.classification = words.field_value

    union all

    select
        signatures.signature,
        'description' as matched_field,
        words.*
    from signatures
    inner join words
        on words.word_role = 'expense' and signatures.vocabulary_description = words.field_value

),

-- words of the line that hint at a kind, for a group running several (seed spend_vocabulary, applies_to 'hint')
hint_phrases as (

    select
        {{ spend_words('phrase') }} as phrase_words,
        category,
        priority
    from {{ ref('spend_vocabulary') }}
    where applies_to = 'hint'

),

hints as (

    select
        signatures.signature,
        hint_phrases.category as kind_hint,
        row_number() over (
            partition by signatures.signature order by hint_phrases.priority asc, hint_phrases.phrase_words asc
        ) as hint_rank
    from signatures
    inner join hint_phrases
        on contains(
            ' ' || coalesce({{ spend_words("concat_ws(' ', signatures.service_area, signatures.expense_type, "
                                          "signatures.classification)") }}, '') || ' ',
            ' ' || hint_phrases.phrase_words || ' '
        )
    where signatures.supplier_runs_several_kinds

),

best_matches as (

    select
        signature,
        matched_field,
        matched_phrase,
        category,
        overrides_who_is_paid,
        row_number() over (
            partition by signature
            order by priority asc, length(matched_phrase) desc, matched_field asc, matched_phrase asc
        ) as match_rank
    from field_matches
    where category is not null

),

childrens as (

    select
        signature,
        bool_or(is_childrens_services) as is_childrens_services
    from field_matches
    group by signature

),

final as (

    select
        signatures.*,
        best_matches.category as vocabulary_category,
        best_matches.matched_field as vocabulary_field,
        best_matches.matched_phrase as vocabulary_phrase,
        coalesce(best_matches.overrides_who_is_paid, false) as vocabulary_overrides_who_is_paid,
        coalesce(childrens.is_childrens_services, false) as is_childrens_services,
        hints.kind_hint
    from signatures
    left join best_matches
        on
            signatures.signature = best_matches.signature
            and best_matches.match_rank = 1
    left join childrens
        on signatures.signature = childrens.signature
    left join hints
        on signatures.signature = hints.signature and hints.hint_rank = 1

)

select * from final

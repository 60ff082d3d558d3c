-- One row per distinct value of a ledger field (service area; expense type, expense code or, on lines without
-- them, description; classification columns) with the vocabulary phrase that classifies it (seed
-- spend_vocabulary, lowest priority first, then the longest phrase) and whether a phrase marks it as children's
-- services (a children's services phrase, a placement kind, or children's social care other than the services
-- bought from whoever runs them). A phrase matches whole words of the value; a value cut short by its publisher
-- ("Special Needs Residential Plac") matches a phrase it is the start of, when it ends inside one of the
-- phrase's words.

with

lines as (

    select * from {{ ref('int_spend__lines_grouped') }}

),

vocabulary as (

    select
        {{ spend_words('phrase') }} as phrase_words,
        applies_to,
        category,
        priority,
        overrides_who_is_paid
    from {{ ref('spend_vocabulary') }}

),

categories as (

    select * from {{ ref('spend_categories') }}

),

field_values as (

    select distinct
        'service' as word_role,
        service_area as field_value
    from lines
    where service_area is not null

    union

    select distinct
        'expense' as word_role,
        expense_type as field_value
    from lines
    where expense_type is not null

    union

    select distinct
        'expense' as word_role,
        expense_code as field_value
    from lines
    where expense_code is not null

    union

    select distinct
        'classification' as word_role,
        classification as field_value
    from lines
    where classification is not null

    union

    select distinct
        'expense' as word_role,
        {{ spend_vocabulary_description() }} as field_value
    from lines
    where {{ spend_vocabulary_description() }} is not null

),

normalised as (

    select
        word_role,
        field_value,
        {{ spend_words('field_value') }} as value_words
    from field_values

),

matches as (

    select
        normalised.word_role,
        normalised.field_value,
        vocabulary.phrase_words,
        vocabulary.category,
        vocabulary.priority,
        vocabulary.overrides_who_is_paid
    from normalised
    inner join vocabulary
        on
            (normalised.word_role = vocabulary.applies_to or vocabulary.applies_to = 'any')
            and (
                contains(' ' || normalised.value_words || ' ', ' ' || vocabulary.phrase_words || ' ')
                or (
                    length(normalised.value_words) >= 12
                    and length(vocabulary.phrase_words) > length(normalised.value_words)
                    and starts_with(vocabulary.phrase_words, normalised.value_words)
                    and substring(vocabulary.phrase_words, length(normalised.value_words) + 1, 1) <> ' '
                )
            )

),

ranked as (

    select
        matches.*,
        row_number() over (
            partition by matches.word_role, matches.field_value
            order by matches.priority asc, length(matches.phrase_words) desc, matches.phrase_words asc
        ) as match_rank
    from matches
    where matches.category <> 'children''s services'

),

childrens as (

    select
        matches.word_role,
        matches.field_value
    from matches
    left join categories
        on matches.category = categories.spend_category
    -- services bought from whoever runs them (agency staff, legal costs, transport: priority 330 and on) say
    -- nothing of whose service a line is; the other phrases of children's social care do
    where
        matches.category = 'children''s services'
        or (matches.category = 'other children''s social care' and matches.priority < 330)
        or categories.is_childrens_placement
    group by matches.word_role, matches.field_value

),

final as (

    select
        normalised.word_role,
        normalised.field_value,
        ranked.phrase_words as matched_phrase,
        ranked.category,
        ranked.priority,
        coalesce(ranked.overrides_who_is_paid, false) as overrides_who_is_paid,
        childrens.field_value is not null as is_childrens_services
    from normalised
    left join ranked
        on
            normalised.word_role = ranked.word_role
            and normalised.field_value = ranked.field_value
            and ranked.match_rank = 1
    left join childrens
        on
            normalised.word_role = childrens.word_role
            and normalised.field_value = childrens.field_value
    where ranked.field_value is not null or childrens.field_value is not null

)

select * from final

-- One row per spend transaction (repeats across overlapping files left out), with its spend category and the
-- rule that gave it (seed spend_classification_rules, first matching rule by priority). Rules see the line's
-- service area, expense type, expense code, description, supplier name and, for a supplier Ofsted knows, the
-- kinds of setting it runs. A line in children's services (seed spend_childrens_services) that no rule
-- classifies is 'unclassified children's services' and goes to the review list, with the lines whose rule
-- asks for review; any other unmatched line is 'not children's placements' (rule NOT_CHILDRENS_SERVICES).
-- Rules are matched once per distinct combination of those fields, not once per line.

with

lines as (

    select
        *,
        {{ row_signature(['service_area', 'expense_type', 'expense_code', 'description', 'supplier_name']) }}
            as signature
    from {{ ref('stg_spend__lines') }}
    where not is_repeat

),

rules as (

    select * from {{ ref('spend_classification_rules') }}

),

scope_patterns as (

    select * from {{ ref('spend_childrens_services') }}

),

supplier_kinds as (

    select * from {{ ref('int_spend__supplier_provider_kinds') }}

),

signatures as (

    select distinct
        lines.signature,
        lines.service_area,
        lines.expense_type,
        lines.expense_code,
        lines.description,
        lines.supplier_name,
        supplier_kinds.provider_kinds as supplier_provider_kinds
    from lines
    left join supplier_kinds
        on lines.supplier_key = supplier_kinds.organisation_key

),

scoped as (

    select
        signatures.*,
        exists(
            select 1
            from scope_patterns
            where
                (
                    scope_patterns.field = 'service_area'
                    and regexp_matches(coalesce(signatures.service_area, ''), scope_patterns.pattern, 'i')
                )
                or (
                    scope_patterns.field = 'expense_type'
                    and regexp_matches(coalesce(signatures.expense_type, ''), scope_patterns.pattern, 'i')
                )
        ) as is_childrens_services
    from signatures

),

matches as (

    select
        scoped.signature,
        rules.rule_id,
        rules.category,
        rules.review,
        row_number() over (
            partition by scoped.signature order by rules.priority, rules.rule_id
        ) as rule_rank
    from scoped
    inner join rules
        on
            (rules.scope = 'any' or scoped.is_childrens_services)
            and (
                rules.service_area is null
                or regexp_matches(coalesce(scoped.service_area, ''), rules.service_area, 'i')
            )
            and (
                rules.expense_type is null
                or regexp_matches(coalesce(scoped.expense_type, ''), rules.expense_type, 'i')
            )
            and (
                rules.expense_code is null
                or regexp_matches(coalesce(scoped.expense_code, ''), rules.expense_code, 'i')
            )
            and (
                rules.description is null
                or regexp_matches(coalesce(scoped.description, ''), rules.description, 'i')
            )
            and (
                rules.supplier is null
                or regexp_matches(coalesce(scoped.supplier_name, ''), rules.supplier, 'i')
            )
            and (
                rules.supplier_provider_types is null
                or regexp_matches(coalesce(scoped.supplier_provider_kinds, ''), rules.supplier_provider_types, 'i')
            )
            and (
                rules.unless is null
                or not regexp_matches(coalesce(scoped.service_area, ''), rules.unless, 'i')
            )

),

classified_signatures as (

    select
        scoped.signature,
        scoped.supplier_provider_kinds,
        scoped.is_childrens_services,
        coalesce(
            matches.category,
            case when scoped.is_childrens_services then 'unclassified children''s services' end,
            'not children''s placements'
        ) as spend_category,
        coalesce(
            matches.rule_id, case when not scoped.is_childrens_services then 'NOT_CHILDRENS_SERVICES' end
        ) as rule_id,
        coalesce(matches.review, false) or (matches.rule_id is null and scoped.is_childrens_services)
            as needs_review
    from scoped
    left join matches
        on
            scoped.signature = matches.signature
            and matches.rule_rank = 1

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
        classified_signatures.supplier_provider_kinds,
        lines.service_area,
        lines.expense_type,
        lines.expense_code,
        lines.description,
        classified_signatures.spend_category,
        classified_signatures.rule_id,
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

-- The spend lines an analyst should look at: lines of children's services that no classification rule
-- matched (category 'unclassified children's services'), and lines classified by a rule that asks for review
-- (a placement whose type was inferred from the supplier's name or a mixed provider). Add or sharpen a rule in
-- seeds/spend/spend_classification_rules.csv and rebuild to clear them.

with

lines as (

    select * from {{ ref('int_spend__lines_classified') }}

),

final as (

    select
        la_gss_code,
        financial_year,
        payment_date,
        transaction_id,
        amount,
        supplier_name,
        supplier_provider_kinds,
        service_area,
        expense_type,
        expense_code,
        description,
        spend_category,
        rule_id,
        case
            when rule_id is null then 'no rule matches this children''s services line'
            else 'classified by a rule that asks for review'
        end as review_reason,
        source_file,
        source_row_number
    from lines
    where needs_review

)

select * from final

-- The spend lines an analyst should look at: lines of children's services that nothing classified (category
-- 'unclassified children's services'), lines classified by a word the council's own ledger taught
-- (int_spend__words_learned: an unknown supplier paid under its placement words), and payments to a provider
-- group that runs several kinds of setting (the kind is its main one). Add a phrase to
-- seeds/spend/spend_vocabulary.csv, or an override for the supplier, and rebuild to clear them.

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
        provider_group_id,
        supplier_spend_categories,
        service_area,
        expense_type,
        expense_code,
        classification,
        description,
        spend_category,
        rule_id,
        rule_detail,
        case
            when rule_id is null then 'nothing classifies this children''s services line'
            when rule_id = 'LEARNED' then 'unknown supplier paid under the council''s own placement words'
            else 'provider group runs several kinds of setting: taken as its main kind'
        end as review_reason,
        source_file,
        source_row_number
    from lines
    where needs_review

)

select * from final

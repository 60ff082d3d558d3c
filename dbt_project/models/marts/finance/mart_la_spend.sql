-- One row per LA x financial year x spend category x provider group: what each council paid (spend over £500
-- files, each transaction once), by the category its lines were classified into and the provider group its
-- suppliers resolve to (int_spend__lines_grouped: brands, subsidiaries and spellings of one group meet).
-- Withheld suppliers and private individuals form one unnamed group per LA. provider_group_method is the way
-- most of the group's spend was linked (seed, override, exact name, company number, urn, scored, own name).

with

lines as (

    select * from {{ ref('int_spend__lines_classified') }}

),

local_authorities as (

    select * from {{ ref('dim_local_authority') }}

),

categories as (

    select * from {{ ref('spend_categories') }}

),

grouped as (

    select
        la_gss_code,
        financial_year,
        spend_category,
        provider_group_id,
        any_value(provider_group_name) as provider_group_name,
        first(provider_group_method order by abs(amount) desc, provider_group_method asc) as provider_group_method,
        sum(amount) as spend,
        count(*) as transaction_count,
        count(*) filter (where amount < 0) as credit_transactions,
        count(distinct supplier_name) as supplier_names,
        count(*) filter (where needs_review) as transactions_to_review
    from lines
    group by la_gss_code, financial_year, spend_category, provider_group_id

),

final as (

    select
        grouped.la_gss_code,
        local_authorities.la_name,
        grouped.financial_year,
        grouped.spend_category,
        categories.is_childrens_placement,
        grouped.provider_group_id,
        grouped.provider_group_name,
        grouped.provider_group_method,
        grouped.spend,
        grouped.transaction_count as transactions,  -- noqa: RF04
        grouped.credit_transactions,
        grouped.supplier_names,
        grouped.transactions_to_review
    from grouped
    left join local_authorities
        on grouped.la_gss_code = local_authorities.la_gss_code
    left join categories
        on grouped.spend_category = categories.spend_category

)

select * from final

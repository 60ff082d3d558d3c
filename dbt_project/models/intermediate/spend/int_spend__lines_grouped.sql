-- One row per classified spend transaction with the provider group its supplier resolves to
-- (int_provider_names_resolved): the one place a spend line meets its group, read by every spend mart.
-- A withheld supplier counts to its LA's 'Supplier withheld' group, a private individual to its LA's
-- 'Private individuals' group: neither is named.

with

lines as (

    select * from {{ ref('int_spend__lines_classified') }}

),

resolved as (

    select * from {{ ref('int_provider_names_resolved') }}

),

groups as (

    select * from {{ ref('int_provider_groups') }}

),

grouped as (

    select
        lines.*,
        case
            when lines.is_supplier_withheld then 'withheld-' || lines.la_gss_code
            when resolved.link_method = 'individual' then 'individuals-' || lines.la_gss_code
            else resolved.group_id
        end as provider_group_id,
        case
            when lines.is_supplier_withheld then 'withheld'
            else resolved.link_method
        end as provider_group_method,
        case when not lines.is_supplier_withheld then resolved.link_score end as provider_group_score
    from lines
    left join resolved
        on lines.supplier_key = resolved.match_key

),

final as (

    select
        grouped.*,
        groups.provider_group_name
    from grouped
    left join groups
        on grouped.provider_group_id = groups.provider_group_id

)

select * from final

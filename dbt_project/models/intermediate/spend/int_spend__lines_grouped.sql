-- One row per spend transaction (repeats across overlapping files left out) with the provider group its supplier
-- resolves to (int_provider_names_resolved): the one place a spend line meets its group. A withheld supplier, or
-- one whose name is only a legal form or punctuation ("Ltd", "CIC", "-"), counts to its LA's 'Supplier withheld'
-- group, a private individual to its LA's 'Private individuals' group: neither is named. Where the group runs
-- children's placement settings on the Ofsted register (int_provider_group_kinds) the line carries the category
-- a payment to it gets ("who is paid"), unless the supplier is a council, an NHS body, a school that runs no
-- residential special school, or a person.

with

lines as (

    select * from {{ ref('stg_spend__lines') }}
    where not is_repeat

),

resolved as (

    select * from {{ ref('int_provider_names_resolved') }}

),

groups as (

    select * from {{ ref('int_provider_groups') }}

),

group_kinds as (

    select * from {{ ref('int_provider_group_kinds') }}

),

-- the kind a care provider's name suggests ("fostering", "school", "homes", "care": seed spend_vocabulary,
-- applies_to 'supplier'), matched inside the name with its spaces removed ("Northerncare")
name_phrases as (

    select
        regexp_replace(lower(phrase), '[^a-z0-9]+', '', 'g') as compact_phrase,
        category,
        priority
    from {{ ref('spend_vocabulary') }}
    where applies_to = 'supplier'

),

-- what a supplier's name says, judged once per distinct name rather than once per line
supplier_names as (

    select
        supplier_name,
        {{ public_body_kind('supplier_name') }} as supplier_public_body
    from (
        select distinct supplier_name
        from lines
        where supplier_name is not null
    ) as distinct_names

),

name_kinds as (

    select
        supplier_names.supplier_name,
        name_phrases.category,
        row_number() over (
            partition by supplier_names.supplier_name
            order by name_phrases.priority asc, name_phrases.compact_phrase asc
        ) as kind_rank
    from supplier_names
    inner join name_phrases
        on contains(
            regexp_replace(lower(supplier_names.supplier_name), '[^a-z0-9]+', '', 'g'), name_phrases.compact_phrase
        )

),

grouped as (

    select
        lines.*,
        case
            when lines.is_supplier_withheld or lines.supplier_key is null then 'withheld-' || lines.la_gss_code
            when resolved.link_method = 'individual' then 'individuals-' || lines.la_gss_code
            else coalesce(resolved.group_id, 'withheld-' || lines.la_gss_code)
        end as provider_group_id,
        case
            when lines.is_supplier_withheld then 'withheld'
            when lines.supplier_key is null or resolved.group_id is null then 'no name'
            else resolved.link_method
        end as provider_group_method,
        case when not lines.is_supplier_withheld then resolved.link_score end as provider_group_score,
        supplier_names.supplier_public_body,
        name_kinds.category as supplier_name_category
    from lines
    left join resolved
        on lines.supplier_key = resolved.match_key
    left join supplier_names
        on lines.supplier_name = supplier_names.supplier_name
    left join name_kinds
        on lines.supplier_name = name_kinds.supplier_name and name_kinds.kind_rank = 1

),

final as (

    select
        grouped.*,
        groups.provider_group_name,
        case
            when
                grouped.provider_group_method not in ('withheld', 'no name', 'individual')
                and not group_kinds.is_public_sector
                and coalesce(grouped.supplier_public_body, 'school') = 'school'
                and (
                    grouped.supplier_public_body is null
                    or group_kinds.spend_categories like '%residential school%'
                )
                then group_kinds.main_spend_category
        end as supplier_spend_category,
        group_kinds.spend_categories as supplier_spend_categories,
        case
            when group_kinds.main_spend_category is not null then grouped.provider_group_id
        end as known_provider_group_id,
        case
            when grouped.provider_group_method in ('withheld', 'no name') then 'withheld'
            when grouped.provider_group_method = 'individual' then 'person'
            else coalesce(grouped.supplier_public_body, 'organisation')
        end as supplier_payee,
        coalesce(group_kinds.runs_several_kinds, false) as supplier_runs_several_kinds
    from grouped
    left join groups
        on grouped.provider_group_id = groups.provider_group_id
    left join group_kinds
        on grouped.provider_group_id = group_kinds.provider_group_id

)

select * from final

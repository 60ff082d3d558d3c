-- Every name the sources use for a provider, one row per source x organisation match key: Ofsted's owning
-- organisations and setting names (every loaded snapshot), spend supplier names (with the company and charity
-- numbers and supplier ids councils publish), placement-cost provider and establishment names. What each knows
-- about the name travels with it: the URNs it was seen with and the owners of those URNs (for linking by URN),
-- its company numbers, the spend and LAs behind it. Withheld and blank names are
-- left out here: they are not organisations (the marts give them a group per LA).

with

register as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

-- Staged lines, not classified ones: the classification reads the groups resolved from these names.
spend_lines as (

    select * from {{ ref('stg_spend__lines') }}
    where not is_repeat

),

placements as (

    select * from {{ ref('stg_placement_costs__placements') }}

),

-- The owner of each URN on its latest snapshot: what a setting name or a placement's URN links to.
urn_owners as (

    select
        urn,
        owner_name
    from (
        select
            urn,
            owner_name,
            row_number() over (partition by urn order by snapshot_date desc) as recency
        from register
        where owner_name is not null and not {{ is_withheld_supplier('owner_name') }}
    ) as ranked
    where recency = 1

),

named as (

    select
        'ofsted owner' as name_source,
        owner_name as organisation_name,
        urn,
        cast(null as varchar) as company_number,
        cast(null as varchar) as charity_number,
        cast(null as varchar) as supplier_id,
        la_gss_code,
        cast(null as decimal(18, 2)) as spend,
        1 as records
    from register
    where owner_name is not null

    union all

    select
        'ofsted setting' as name_source,
        provider_name as organisation_name,
        urn,
        null as company_number,
        null as charity_number,
        null as supplier_id,
        la_gss_code,
        null as spend,
        1 as records
    from register
    where provider_name is not null

    union all

    -- Ledgers hold millions of lines but far fewer distinct suppliers: one row per published combination.
    select
        'spend supplier' as name_source,
        spend_lines.supplier_name as organisation_name,
        null as urn,
        spend_lines.company_number,
        spend_lines.charity_number,
        spend_lines.supplier_id,
        spend_lines.la_gss_code,
        sum(spend_lines.amount) as spend,
        count(*) as records
    from spend_lines
    where not spend_lines.is_supplier_withheld
    group by
        spend_lines.supplier_name,
        spend_lines.company_number,
        spend_lines.charity_number,
        spend_lines.supplier_id,
        spend_lines.la_gss_code

    union all

    select
        'placement provider' as name_source,
        provider as organisation_name,
        urn,
        null as company_number,
        null as charity_number,
        null as supplier_id,
        la_gss_code,
        null as spend,
        1 as records
    from placements
    where provider is not null

    union all

    select
        'placement establishment' as name_source,
        establishment as organisation_name,
        urn,
        null as company_number,
        null as charity_number,
        null as supplier_id,
        la_gss_code,
        null as spend,
        1 as records
    from placements
    where establishment is not null

),

keyed as (

    select
        named.*,
        {{ organisation_key('named.organisation_name') }} as organisation_key,
        {{ organisation_key('named.organisation_name') }} as match_key,
        {{ organisation_key('urn_owners.owner_name') }} as urn_owner_key
    from named
    left join urn_owners
        on named.urn = urn_owners.urn
    where not {{ is_withheld_supplier('named.organisation_name') }}

),

final as (

    select
        name_source,
        match_key,
        min(organisation_key) as organisation_key,
        first(organisation_name order by records desc, organisation_name asc) as organisation_name,
        list_sort(list_distinct(list(organisation_name))) as spellings,
        first(company_number order by records desc, company_number asc) filter (
            where company_number is not null
        ) as company_number,
        count(distinct company_number) as company_numbers,
        first(charity_number order by records desc, charity_number asc) filter (
            where charity_number is not null
        ) as charity_number,
        count(distinct supplier_id) as supplier_ids,
        count(distinct urn) as urns,
        list_sort(list_distinct(list(urn_owner_key) filter (where urn_owner_key is not null))) as urn_owner_keys,
        count(distinct la_gss_code) as las,
        cast(coalesce(sum(spend), 0) as decimal(18, 2)) as spend,
        sum(records) as records
    from keyed
    where match_key is not null
    group by name_source, match_key

)

select * from final

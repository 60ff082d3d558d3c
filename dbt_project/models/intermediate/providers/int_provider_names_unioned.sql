-- Every name the sources use for a provider, one row per source x organisation match key: Ofsted's owning
-- organisations and setting names (every loaded snapshot), spend supplier names (with the company and charity
-- numbers and supplier ids councils publish), placement-cost provider and establishment names. What each knows
-- about the name travels with it: the URNs it was seen with and the owners of those URNs (for linking by URN),
-- its company numbers, the spend and LAs behind it (to order the review list). Withheld and blank names are
-- left out here: they are not organisations (the marts give them a group per LA).

with

register as (

    select * from {{ ref('int_provider_snapshots_joined') }}

),

spend_lines as (

    select * from {{ ref('int_spend__lines_classified') }}

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
        'ofsted owner' as source,
        owner_name as name,
        urn,
        cast(null as varchar) as company_number,
        cast(null as varchar) as charity_number,
        cast(null as varchar) as supplier_id,
        la_gss_code,
        cast(null as decimal(18, 2)) as spend
    from register
    where owner_name is not null

    union all

    select
        'ofsted setting' as source,
        provider_name as name,
        urn,
        null as company_number,
        null as charity_number,
        null as supplier_id,
        la_gss_code,
        null as spend
    from register
    where provider_name is not null

    union all

    select
        'spend supplier' as source,
        supplier_name as name,
        null as urn,
        company_number,
        charity_number,
        supplier_id,
        la_gss_code,
        amount as spend
    from spend_lines
    where not is_supplier_withheld

    union all

    select
        'placement provider' as source,
        provider as name,
        urn,
        null as company_number,
        null as charity_number,
        null as supplier_id,
        la_gss_code,
        null as spend
    from placements
    where provider is not null

    union all

    select
        'placement establishment' as source,
        establishment as name,
        urn,
        null as company_number,
        null as charity_number,
        null as supplier_id,
        la_gss_code,
        null as spend
    from placements
    where establishment is not null

),

keyed as (

    select
        named.*,
        {{ organisation_key('named.name') }} as organisation_key,
        {{ organisation_key('named.name') }} as match_key,
        {{ organisation_key('urn_owners.owner_name') }} as urn_owner_key
    from named
    left join urn_owners
        on named.urn = urn_owners.urn
    where not {{ is_withheld_supplier('named.name') }}

),

final as (

    select
        source,
        match_key,
        min(organisation_key) as organisation_key,
        mode(name) as name,
        list_sort(list_distinct(list(name))) as spellings,
        mode(company_number) as company_number,
        count(distinct company_number) as company_numbers,
        mode(charity_number) as charity_number,
        count(distinct supplier_id) as supplier_ids,
        count(distinct urn) as urns,
        list_sort(list_distinct(list(urn_owner_key) filter (where urn_owner_key is not null))) as urn_owner_keys,
        count(distinct la_gss_code) as las,
        cast(coalesce(sum(spend), 0) as decimal(18, 2)) as spend,
        count(*) as records
    from keyed
    where match_key is not null
    group by source, match_key

)

select * from final

-- One row per organisation key that Ofsted's register knows as the owner (or name) of a children's setting:
-- the kinds of setting it runs ('childrens_home', 'fostering', 'secure', 'residential_school',
-- 'supported_accommodation'), sorted and joined with '|'. A supplier whose organisation_key equals one of these
-- is "known as a provider"; classification rules test the kinds (seed spend_classification_rules).

with

providers as (

    select * from {{ ref('stg_ofsted__providers') }}

),

provider_kinds as (

    select * from {{ ref('spend_provider_kinds') }}

),

names as (

    select
        {{ organisation_key('providers.owner_name') }} as organisation_key,
        providers.owner_name as organisation_name,
        providers.urn,
        provider_kinds.provider_kind
    from providers
    inner join provider_kinds
        on lower(providers.provision_type) = lower(provider_kinds.provision_type)
    where providers.owner_name is not null

    union all

    select
        {{ organisation_key('providers.provider_name') }} as organisation_key,
        providers.provider_name as organisation_name,
        providers.urn,
        provider_kinds.provider_kind
    from providers
    inner join provider_kinds
        on lower(providers.provision_type) = lower(provider_kinds.provision_type)
    where providers.provider_name is not null

),

final as (

    select
        organisation_key,
        string_agg(distinct provider_kind, '|' order by provider_kind) as provider_kinds,
        min(organisation_name) as organisation_name,
        count(distinct urn) as setting_count
    from names
    where organisation_key is not null
    group by organisation_key

)

select * from final

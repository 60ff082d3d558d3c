-- One row per normalised name variant -> the children's services authority it means (current and former LAs).
-- Join any LA name to it with `{{ normalised_name('x') }} = normalised_name`. Variants come from the register
-- (nice, official and alternative names), the mySociety name lookup, the DfE names, the analyst aliases, and the
-- GSS, former GSS and DfE codes themselves. A variant that several authorities share goes to the current one
-- (then the newest), so 'somerset' and '933' mean Somerset Council, E06000066; ingest/local_authorities.py
-- applies the same rules.

with

authorities as (

    select * from {{ ref('int_local_authorities_joined') }}

),

register_alt_names as (

    -- alternative names are separated by a bare comma; ', ' belongs to a name ("Bristol, City of")
    select
        authorities.la_gss_code,
        trim(replace(alt_names.alt_name, chr(31), ', ')) as name_variant
    from authorities
    cross join unnest(string_split(replace(authorities.alt_names_text, ', ', chr(31)), ',')) as alt_names (alt_name)

),

name_lookups as (

    select
        authorities.la_gss_code,
        lookups.la_name as name_variant
    from {{ ref('stg_reference__local_authority_name_lookups') }} as lookups
    inner join authorities
        on lookups.la_registry_code = authorities.la_registry_code

),

dfe_names as (

    select
        la_gss_code,
        la_name as name_variant
    from {{ ref('stg_reference__dfe_local_authorities') }}

),

aliases as (

    select
        la_gss_code,
        la_alias as name_variant
    from {{ ref('stg_reference__la_name_aliases') }}

),

former_gss_codes as (

    select
        authorities.la_gss_code,
        former.gss_code as name_variant
    from authorities
    cross join unnest(authorities.former_gss_codes) as former (gss_code)

),

variants as (

    select
        la_gss_code,
        la_nice_name as name_variant,
        'register_nice_name' as variant_source,
        false as is_code
    from authorities
    union all
    select
        la_gss_code,
        la_official_name as name_variant,
        'register_official_name' as variant_source,
        false as is_code
    from authorities
    union all
    select
        la_gss_code,
        name_variant,
        'register_alt_names' as variant_source,
        false as is_code
    from register_alt_names
    union all
    select
        la_gss_code,
        name_variant,
        'mysociety_name_lookup' as variant_source,
        false as is_code
    from name_lookups
    union all
    select
        la_gss_code,
        name_variant,
        'dfe_la_name' as variant_source,
        false as is_code
    from dfe_names
    union all
    select
        la_gss_code,
        supplement_la_name as name_variant,
        'la_dfe_codes_supplement' as variant_source,
        false as is_code
    from authorities
    union all
    select
        la_gss_code,
        name_variant,
        'la_name_aliases' as variant_source,
        false as is_code
    from aliases
    union all
    select
        la_gss_code,
        la_dfe_code as name_variant,
        'dfe_code' as variant_source,
        false as is_code
    from authorities
    union all
    select
        la_gss_code,
        la_gss_code as name_variant,
        'gss_code' as variant_source,
        true as is_code
    from authorities
    union all
    select
        la_gss_code,
        name_variant,
        'former_gss_code' as variant_source,
        true as is_code
    from former_gss_codes

),

normalised as (

    select
        variants.la_gss_code,
        variants.name_variant,
        variants.variant_source,
        variants.is_code,
        {{ normalised_name('variants.name_variant') }} as normalised_name
    from variants
    where nullif(trim(variants.name_variant), '') is not null

),

candidates as (

    -- one row per (normalised name, authority that uses it)
    select
        normalised.normalised_name,
        normalised.la_gss_code,
        authorities.is_current,
        authorities.start_date,
        bool_or(normalised.is_code) as is_code,
        list(distinct normalised.name_variant order by normalised.name_variant) as name_variants,
        list(distinct normalised.variant_source order by normalised.variant_source) as variant_sources
    from normalised
    -- a left join, so that an alias for a code that is not a children's services authority fails the
    -- relationships test instead of disappearing
    left join authorities
        on normalised.la_gss_code = authorities.la_gss_code
    where normalised.normalised_name != ''
    group by
        normalised.normalised_name,
        normalised.la_gss_code,
        authorities.is_current,
        authorities.start_date

),

ranked as (

    select
        *,
        row_number() over (
            partition by normalised_name
            order by is_current desc nulls last, start_date desc nulls last, la_gss_code asc
        ) as candidate_rank,
        count(*) over (partition by normalised_name) as n_candidate_las
    from candidates

),

winners as (

    select * from ranked
    where candidate_rank = 1

),

losers as (

    -- other authorities using the same name; a loser the winner replaced is expected (Somerset County Council)
    select
        ranked.normalised_name,
        list(ranked.la_gss_code order by ranked.la_gss_code) as other_la_gss_codes,
        count(*) filter (
            where not coalesce(list_contains(authorities.replaced_by_gss_codes, winners.la_gss_code), false)
        ) as n_conflicting_las
    from ranked
    inner join winners
        on ranked.normalised_name = winners.normalised_name
    left join authorities
        on ranked.la_gss_code = authorities.la_gss_code
    where ranked.candidate_rank > 1
    group by ranked.normalised_name

),

final as (

    select
        winners.normalised_name,
        winners.la_gss_code,
        authorities.la_name,
        -- a GSS code names exactly one authority and is never remapped by date
        case when not winners.is_code then authorities.sole_predecessor_gss_code end as predecessor_la_gss_code,
        case
            when not winners.is_code and authorities.sole_predecessor_gss_code is not null
                then authorities.start_date
        end as predecessor_until,
        winners.is_code,
        winners.name_variants,
        winners.variant_sources,
        winners.n_candidate_las,
        coalesce(losers.other_la_gss_codes, []) as other_la_gss_codes,
        coalesce(losers.n_conflicting_las, 0) as n_conflicting_las
    from winners
    left join authorities
        on winners.la_gss_code = authorities.la_gss_code
    left join losers
        on winners.normalised_name = losers.normalised_name

)

select * from final

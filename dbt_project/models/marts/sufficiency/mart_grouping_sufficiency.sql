-- Sufficiency of each region and configured consortium on each 31 March: the sum of its member LAs' rows of
-- mart_la_sufficiency (the LA in force that year: Somerset County Council's rows to 2023 count for Somerset). Children
-- are counted by the LA that looks after them; a grouping's total covers the members whose returns are published,
-- and the row says whether that is all of them (las_expected, las_included, complete: build_coverage). "Inside the
-- region" is the LA's government office region.

{% set summed_columns = [
    'children_looked_after', 'in_house_fostering', 'ifa_fostering', 'kinship', 'own_residential',
    'independent_residential', 'secure', 'semi_independent', 'residential_school', 'other_placements',
    'placed_inside_la', 'placed_inside_region', 'in_childrens_homes', 'in_childrens_homes_inside_region',
    'over_20_miles', 'distance_unknown', 'local_childrens_homes', 'local_places',
    'cla_age_under_1', 'cla_age_1_to_4', 'cla_age_5_to_9', 'cla_age_10_to_15', 'cla_age_16_to_17',
    'uasc_looked_after', 'starters', 'starters_age_under_1', 'starters_age_1_to_4', 'starters_age_5_to_9',
    'starters_age_10_to_15', 'starters_age_16_to_17', 'uasc_starters'
] %}

with

la_sufficiency as (

    select * from {{ ref('mart_la_sufficiency') }}

),

groupings as (

    select * from {{ ref('bridge_local_authority_grouping') }}

),

lineage as (

    select * from {{ ref('int_local_authority_lineage') }}

),

coverage as (

    select * from {{ ref('build_coverage') }}

),

-- a member's return for the year is published (included or carried forward), its own or its predecessor's
published_returns as (

    select distinct
        lineage.la_gss_code as member_la_gss_code,
        cast(coverage.period as integer) as collection_year
    from coverage
    inner join lineage
        on
            coverage.la_gss_code = lineage.la_gss_code
            or coverage.la_gss_code = lineage.predecessor_la_gss_code
    where coverage.source = 'ssda903' and coverage.is_published

),

completeness as (

    select
        groupings.grouping_type,
        groupings.grouping_name,
        published_returns.collection_year,
        count(distinct groupings.la_gss_code) as las_included
    from groupings
    inner join published_returns
        on groupings.la_gss_code = published_returns.member_la_gss_code
    where groupings.is_current
    group by groupings.grouping_type, groupings.grouping_name, published_returns.collection_year

),

-- a consortium lists today's members: a former authority's rows count to the authority that replaced it whole
la_rows as (

    select
        la_sufficiency.*,
        coalesce(lineage.current_la_gss_code, la_sufficiency.la_gss_code) as member_la_gss_code
    from la_sufficiency
    left join lineage
        on la_sufficiency.la_gss_code = lineage.la_gss_code

),

members as (

    select
        grouping_type,
        grouping_name,
        count(distinct la_gss_code) filter (where is_current) as member_las
    from groupings
    group by grouping_type, grouping_name

),

summed as (

    select
        groupings.grouping_type,
        groupings.grouping_name,
        la_sufficiency.collection_year,
        count(*) as las_reporting,
        sum(la_sufficiency.children_looked_after) as children_looked_after,
        sum(la_sufficiency.in_house_fostering) as in_house_fostering,
        sum(la_sufficiency.ifa_fostering) as ifa_fostering,
        sum(la_sufficiency.kinship) as kinship,
        sum(la_sufficiency.own_residential) as own_residential,
        sum(la_sufficiency.independent_residential) as independent_residential,
        sum(la_sufficiency.secure) as secure,
        sum(la_sufficiency.semi_independent) as semi_independent,
        sum(la_sufficiency.residential_school) as residential_school,
        sum(la_sufficiency.other_placements) as other_placements,
        sum(la_sufficiency.placed_inside_la) as placed_inside_la,
        sum(la_sufficiency.placed_inside_region) as placed_inside_region,
        sum(la_sufficiency.in_childrens_homes) as in_childrens_homes,
        sum(la_sufficiency.in_childrens_homes_inside_region) as in_childrens_homes_inside_region,
        sum(la_sufficiency.over_20_miles) as over_20_miles,
        sum(la_sufficiency.distance_unknown) as distance_unknown,
        sum(la_sufficiency.local_childrens_homes) as local_childrens_homes,
        sum(la_sufficiency.local_places) as local_places,
        sum(la_sufficiency.cla_age_under_1) as cla_age_under_1,
        sum(la_sufficiency.cla_age_1_to_4) as cla_age_1_to_4,
        sum(la_sufficiency.cla_age_5_to_9) as cla_age_5_to_9,
        sum(la_sufficiency.cla_age_10_to_15) as cla_age_10_to_15,
        sum(la_sufficiency.cla_age_16_to_17) as cla_age_16_to_17,
        sum(la_sufficiency.uasc_looked_after) as uasc_looked_after,
        sum(la_sufficiency.starters) as starters,
        sum(la_sufficiency.starters_age_under_1) as starters_age_under_1,
        sum(la_sufficiency.starters_age_1_to_4) as starters_age_1_to_4,
        sum(la_sufficiency.starters_age_5_to_9) as starters_age_5_to_9,
        sum(la_sufficiency.starters_age_10_to_15) as starters_age_10_to_15,
        sum(la_sufficiency.starters_age_16_to_17) as starters_age_16_to_17,
        sum(la_sufficiency.uasc_starters) as uasc_starters
    from la_rows as la_sufficiency
    inner join groupings
        on la_sufficiency.member_la_gss_code = groupings.la_gss_code
    group by groupings.grouping_type, groupings.grouping_name, la_sufficiency.collection_year

),

final as (

    select
        summed.grouping_type,
        summed.grouping_name,
        summed.collection_year,
        cast(members.member_las as bigint) as member_las,
        cast(summed.las_reporting as bigint) as las_reporting,
        cast(members.member_las as bigint) as las_expected,
        cast(coalesce(completeness.las_included, 0) as bigint) as las_included,
        coalesce(completeness.las_included, 0) = members.member_las as complete,
        {% for column in summed_columns %}
            cast(summed.{{ column }} as bigint) as {{ column }},
        {% endfor %}
        cast(summed.in_childrens_homes_inside_region as double) / nullif(summed.in_childrens_homes, 0)
            as share_in_childrens_homes_inside_region,
        cast(summed.starters_age_under_1 as double) / nullif(summed.starters, 0) as share_starters_under_1,
        cast(summed.starters_age_16_to_17 as double) / nullif(summed.starters, 0) as share_starters_16_to_17
    from summed
    inner join members
        on
            summed.grouping_type = members.grouping_type
            and summed.grouping_name = members.grouping_name
    left join completeness
        on
            summed.grouping_type = completeness.grouping_type
            and summed.grouping_name = completeness.grouping_name
            and summed.collection_year = completeness.collection_year

)

select * from final

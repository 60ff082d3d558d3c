-- One row per placement spell: consecutive episodes of one child in one LA's returns with the same placement
-- (PLACE, PLACE_PROVIDER, URN, placement postcode district) and no gap between them are one spell, so a new
-- episode for a change of legal status alone is not a move. A spell also begins where the child starts a period
-- of care (RNE S) or the return records a change of placement (RNE P or T).
-- Joined: placement and provider type (seed), the setting's LA (the URN's Ofsted LA as of the start for a setting
-- children live in; else the LA of the placement postcode; else the agency's Ofsted LA), regions, distance from home
-- (the DfE's miles between the home and placement postcodes, found at the door), whether the URN was registered on
-- the start date, and the child's sex, month of birth and UASC status.

with

episodes as (

    select * from {{ ref('stg_ssda903__episodes') }}

),

placement_types as (

    select * from {{ ref('ssda903_placement_types') }}

),

register_periods as (

    select * from {{ ref('int_provider_register_periods') }}

),

authorities as (

    select * from {{ ref('int_local_authorities_joined') }}

),

lineage as (

    select * from {{ ref('int_local_authority_lineage') }}

),

children as (

    select * from {{ ref('stg_ssda903__children') }}

),

uasc as (

    select * from {{ ref('stg_ssda903__uasc') }}

),

sequenced as (

    select
        episodes.*,
        lag(episodes.episode_end_date) over (
            partition by episodes.la_gss_code, episodes.child_id
            order by episodes.episode_start_date
        ) as previous_end_date,
        lag(episodes.place) over (
            partition by episodes.la_gss_code, episodes.child_id
            order by episodes.episode_start_date
        ) as previous_place,
        lag(episodes.place_provider) over (
            partition by episodes.la_gss_code, episodes.child_id
            order by episodes.episode_start_date
        ) as previous_place_provider,
        lag(episodes.urn) over (
            partition by episodes.la_gss_code, episodes.child_id
            order by episodes.episode_start_date
        ) as previous_urn,
        lag(episodes.placement_postcode_district) over (
            partition by episodes.la_gss_code, episodes.child_id
            order by episodes.episode_start_date
        ) as previous_placement_postcode_district,
        row_number() over (
            partition by episodes.la_gss_code, episodes.child_id
            order by episodes.episode_start_date
        ) as episode_number
    from episodes

),

flagged as (

    select
        *,
        case
            when episode_number = 1 then 1
            when previous_end_date is null or previous_end_date != episode_start_date then 1
            when reason_new_episode in ('S', 'P', 'T') then 1
            when
                coalesce(place, '') != coalesce(previous_place, '')
                or coalesce(place_provider, '') != coalesce(previous_place_provider, '')
                or coalesce(urn, '') != coalesce(previous_urn, '')
                or coalesce(placement_postcode_district, '') != coalesce(previous_placement_postcode_district, '')
                then 1
            else 0
        end as starts_spell
    from sequenced

),

numbered as (

    select
        *,
        sum(starts_spell) over (
            partition by la_gss_code, child_id
            order by episode_start_date
            rows between unbounded preceding and current row
        ) as spell_number
    from flagged

),

spell_bounds as (

    select
        la_gss_code,
        child_id,
        spell_number,
        min(episode_start_date) as start_date,
        case when count(*) = count(episode_end_date) then max(episode_end_date) end as end_date,
        count(*) as episodes,
        max(collection_year) as last_collection_year,
        max(returns_reporting) as max_returns_reporting
    from numbered
    group by la_gss_code, child_id, spell_number

),

spells as (

    select
        spell_bounds.*,
        first_episodes.la_dfe_code,
        first_episodes.reason_new_episode,
        first_episodes.reason_new_episode = 'S' as starts_period_of_care,
        first_episodes.legal_status as first_legal_status,
        first_episodes.place,
        first_episodes.place_provider,
        first_episodes.urn,
        first_episodes.home_postcode_district,
        first_episodes.placement_postcode_district,
        first_episodes.placement_la_gss_code,
        first_episodes.distance_miles
    from spell_bounds
    inner join numbered as first_episodes
        on
            spell_bounds.la_gss_code = first_episodes.la_gss_code
            and spell_bounds.child_id = first_episodes.child_id
            and spell_bounds.start_date = first_episodes.episode_start_date

),

-- the URN's register entry as of the spell start: the snapshot in force that day, else the nearest one listing it
-- (an entry whose LA is a split county, with no current LA, only when there is no other)
urn_entries as (

    select
        spells.la_gss_code,
        spells.child_id,
        spells.start_date,
        register_periods.la_gss_code as urn_la_gss_code,
        register_periods.is_lived_in_setting,
        register_periods.provision_type as urn_provision_type,
        register_periods.registered_as_childrens_home as urn_registered_as_childrens_home,
        spells.start_date >= register_periods.in_force_from
        and spells.start_date < register_periods.in_force_until as is_in_force_at_start,
        row_number() over (
            partition by spells.la_gss_code, spells.child_id, spells.start_date
            order by
                case when register_periods.la_gss_code is null then 1 else 0 end,
                case
                    when
                        spells.start_date >= register_periods.in_force_from
                        and spells.start_date < register_periods.in_force_until
                        then 0
                    else 1
                end,
                abs({{ days_between('register_periods.snapshot_date', 'spells.start_date') }})
        ) as nearness
    from spells
    inner join register_periods
        on spells.urn = register_periods.urn

),

registered_at_start as (

    select distinct
        spells.la_gss_code,
        spells.child_id,
        spells.start_date
    from spells
    inner join register_periods
        on
            spells.urn = register_periods.urn
            and spells.start_date >= register_periods.in_force_from
            and spells.start_date < register_periods.in_force_until
    where
        not register_periods.is_suspended
        and (register_periods.registration_date is null or register_periods.registration_date <= spells.start_date)
        and (register_periods.closed_date is null or register_periods.closed_date > spells.start_date)

),

joined as (

    select
        spells.la_gss_code,
        spells.la_dfe_code,
        spells.child_id,
        spells.spell_number,
        spells.start_date,
        spells.end_date,
        spells.episodes,
        spells.reason_new_episode,
        spells.starts_period_of_care,
        spells.first_legal_status,
        spells.place,
        spells.place_provider,
        coalesce(placement_types.placement_type, 'other') as placement_type,
        coalesce(
            placement_types.provider_type,
            case when spells.place_provider is null then 'not_recorded' else 'other' end
        ) as provider_type,
        coalesce(placement_types.needs_urn, false) as needs_urn,
        spells.urn,
        urn_entries.urn_provision_type,
        coalesce(urn_entries.urn_registered_as_childrens_home, false) as urn_registered_as_childrens_home,
        registered_at_start.child_id is not null as registered_at_start,
        spells.home_postcode_district,
        spells.placement_postcode_district,
        urn_entries.urn_la_gss_code,
        spells.placement_la_gss_code as placement_district_la_gss_code,
        case
            when urn_entries.is_lived_in_setting and urn_entries.urn_la_gss_code is not null
                then urn_entries.urn_la_gss_code
            when spells.placement_la_gss_code is not null then spells.placement_la_gss_code
            else urn_entries.urn_la_gss_code
        end as setting_la_gss_code,
        case
            when urn_entries.is_lived_in_setting and urn_entries.urn_la_gss_code is not null then 'ofsted_urn'
            when spells.placement_la_gss_code is not null then 'placement_district'
            when urn_entries.urn_la_gss_code is not null then 'ofsted_agency'
        end as setting_la_source,
        spells.distance_miles,
        children.sex,
        children.dob_month,
        uasc.child_id is not null as is_uasc,
        spells.last_collection_year,
        spells.max_returns_reporting
    from spells
    left join placement_types
        on
            spells.place = placement_types.place
            and coalesce(spells.place_provider, '') = coalesce(placement_types.place_provider, '')
    left join urn_entries
        on
            spells.la_gss_code = urn_entries.la_gss_code
            and spells.child_id = urn_entries.child_id
            and spells.start_date = urn_entries.start_date
            and urn_entries.nearness = 1
    left join registered_at_start
        on
            spells.la_gss_code = registered_at_start.la_gss_code
            and spells.child_id = registered_at_start.child_id
            and spells.start_date = registered_at_start.start_date
    left join children
        on
            spells.la_gss_code = children.la_gss_code
            and spells.child_id = children.child_id
    left join uasc
        on
            spells.la_gss_code = uasc.la_gss_code
            and spells.child_id = uasc.child_id

),

final as (

    select
        joined.*,
        coalesce(placing_lineage.current_la_gss_code, joined.la_gss_code) as placing_current_la_gss_code,
        placing_authorities.government_office_region_name as region_name,
        -- a placement in Wales, Scotland or Northern Ireland (its council's code from the postcode) is outside
        coalesce(
            setting_authorities.government_office_region_name,
            case substring(joined.setting_la_gss_code, 1, 1)
                when 'W' then 'Wales' when 'S' then 'Scotland' when 'N' then 'Northern Ireland'
            end
        ) as setting_region_name,
        case
            when joined.setting_la_gss_code is not null
                then joined.setting_la_gss_code = coalesce(placing_lineage.current_la_gss_code, joined.la_gss_code)
        end as is_inside_la,
        case
            when setting_authorities.government_office_region_name is not null
                then
                    setting_authorities.government_office_region_name
                    = placing_authorities.government_office_region_name
            when substring(joined.setting_la_gss_code, 1, 1) in ('W', 'S', 'N') then false
        end as is_inside_region,
        joined.placement_type in ('own_residential', 'independent_residential', 'secure')
            as is_childrens_home_placement
    from joined
    left join authorities as placing_authorities
        on joined.la_gss_code = placing_authorities.la_gss_code
    left join lineage as placing_lineage
        on joined.la_gss_code = placing_lineage.la_gss_code
    left join authorities as setting_authorities
        on joined.setting_la_gss_code = setting_authorities.la_gss_code

)

select * from final

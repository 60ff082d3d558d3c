-- One row per local authority in the DfE 2023 children-looked-after release (years 2019-2023): its DfE three-digit
-- code, GSS code, DfE name and DfE region (Inner / Outer London split), with the years it has figures for.
-- The statistics themselves are not used here; `z` (not applicable) marks years in which the LA did not exist.

with

source as (

    select * from {{ ref('la_cla_on_31_march_la_of_placement_netgain') }}

),

renamed as (

    select
        cast(time_period as integer) as time_period,
        old_la_code as la_dfe_code,
        new_la_code as la_gss_code,
        la_name,
        region_code as dfe_region_code,
        region_name as dfe_region_name,
        coalesce(number, '') != 'z' as has_figures
    from source
    where geographic_level = 'Local authority'

),

final as (

    select
        la_dfe_code,
        la_gss_code,
        arg_max(la_name, time_period) as la_name,
        arg_max(dfe_region_code, time_period) as dfe_region_code,
        arg_max(dfe_region_name, time_period) as dfe_region_name,
        min(time_period) filter (where has_figures) as first_year_with_figures,
        max(time_period) filter (where has_figures) as last_year_with_figures,
        max(time_period) as last_year_listed
    from renamed
    group by la_dfe_code, la_gss_code

)

select * from final

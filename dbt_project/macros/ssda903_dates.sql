{#- Whole years of age on a date, from a date of birth (SSDA903 keeps the first day of the birth month). -#}
{% macro age_in_years(date_of_birth, on_date) -%}
    (
        extract(year from {{ on_date }}) - extract(year from {{ date_of_birth }})
        - case
            when extract(month from {{ on_date }}) < extract(month from {{ date_of_birth }}) then 1
            when
                extract(month from {{ on_date }}) = extract(month from {{ date_of_birth }})
                and extract(day from {{ on_date }}) < extract(day from {{ date_of_birth }})
                then 1
            else 0
        end
    )
{%- endmacro %}

{#- The last day of the month a date falls in. -#}
{% macro last_day_of_month(expr) -%}
    {{ return(adapter.dispatch('last_day_of_month')(expr)) }}
{%- endmacro %}

{% macro default__last_day_of_month(expr) -%}
    cast(date_trunc('month', {{ expr }}) + interval '1 month' - interval '1 day' as date)
{%- endmacro %}

{% macro duckdb__last_day_of_month(expr) -%}
    last_day({{ expr }})
{%- endmacro %}

{#- Days from one date to a later one (nights between arrival and departure). -#}
{% macro days_between(from_date, to_date) -%}
    {{ return(adapter.dispatch('days_between')(from_date, to_date)) }}
{%- endmacro %}

{% macro default__days_between(from_date, to_date) -%}
    ({{ to_date }} - {{ from_date }})
{%- endmacro %}

{% macro duckdb__days_between(from_date, to_date) -%}
    date_diff('day', {{ from_date }}, {{ to_date }})
{%- endmacro %}

{#- The GSS code in force on a date for the area of a current authority: its sole predecessor before it took over
    (Somerset County Council before 1 April 2023), else itself. `lineage` is an int_local_authority_lineage row. -#}
{% macro la_code_as_of(lineage, on_date) -%}
    case
        when {{ lineage }}.predecessor_la_gss_code is not null and {{ on_date }} < {{ lineage }}.current_from_date
            then {{ lineage }}.predecessor_la_gss_code
        else {{ lineage }}.la_gss_code
    end
{%- endmacro %}

{#- Publishers write dates as 31/03/2023, 2023-03-31, 31-Mar-23 or 31 March 2023. Returns a date or null. -#}
{% macro parse_date(expr) -%}
    {{ return(adapter.dispatch('parse_date')(expr)) }}
{%- endmacro %}

{% macro default__parse_date(expr) -%}
    cast(nullif(trim({{ expr }}), '') as date)
{%- endmacro %}

{% macro duckdb__parse_date(expr) -%}
    cast(try_strptime(trim({{ expr }}), ['%d/%m/%Y', '%Y-%m-%d', '%d-%b-%y', '%d-%b-%Y', '%d %B %Y', '%d/%m/%y', '%Y-%m-%d %H:%M:%S']) as date)
{%- endmacro %}

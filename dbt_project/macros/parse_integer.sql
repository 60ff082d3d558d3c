{#- '1,234' or ' 12 ' -> integer; anything else -> null (the raw text stays in raw for audit). -#}
{% macro parse_integer(expr) -%}
    {{ return(adapter.dispatch('parse_integer')(expr)) }}
{%- endmacro %}

{% macro default__parse_integer(expr) -%}
    cast(nullif(trim(replace({{ expr }}, ',', '')), '') as integer)
{%- endmacro %}

{% macro duckdb__parse_integer(expr) -%}
    try_cast(nullif(trim(replace({{ expr }}, ',', '')), '') as integer)
{%- endmacro %}

{#-
    is_withheld_supplier(expr): true when a published supplier name is blank or withheld for data protection
    ("Redacted Personal Information", "REDACTED", "Personal Data Withheld", "Private Individual", ...).
-#}
{% macro is_withheld_supplier(expr) -%}
    coalesce(
        trim({{ expr }}) = ''
        or regexp_matches(
            lower({{ expr }}),
            '^\s*(redacted|withheld|personal data|personal information|private individual|individual|data protection|'
            || 'name withheld|not disclosed|undisclosed)\b|\b(redacted|withheld)\b'
        ),
        true
    )
{%- endmacro %}

{#-
    company_number(expr): a Companies House number as written in a ledger, normalised to 8 characters
    ('1234567' -> '01234567', 'sc123456' -> 'SC123456'); null when it is not one.
-#}
{% macro company_number(expr) -%}
    case
        when regexp_full_match(upper(replace(trim({{ expr }}), ' ', '')), '[0-9]{1,8}')
            then lpad(upper(replace(trim({{ expr }}), ' ', '')), 8, '0')
        when regexp_full_match(upper(replace(trim({{ expr }}), ' ', '')), '(SC|NI|OC|SO|NC|R0|IP|RC|LP|SL|SE|FC)[0-9]{6}')
            then upper(replace(trim({{ expr }}), ' ', ''))
    end
{%- endmacro %}

{#- financial_year_label(date_expr): the April-March financial year of a date, written '2023-24'
    (the same rule as the DuckDB macro financial_year in ingest/spend_macros.sql). -#}
{% macro financial_year_label(expr) -%}
    cast(year({{ expr }}) - case when month({{ expr }}) < 4 then 1 else 0 end as varchar) || '-'
    || lpad(cast((year({{ expr }}) + case when month({{ expr }}) < 4 then 0 else 1 end) % 100 as varchar), 2, '0')
{%- endmacro %}

{#- row_signature(columns): one value standing for a combination of (nullable) columns, for joining a row back
    to the distinct combinations it was classified by. DuckDB: its 64-bit hash (nulls included); elsewhere md5. -#}
{% macro row_signature(columns) -%}
    {{ return(adapter.dispatch('row_signature')(columns)) }}
{%- endmacro %}

{% macro default__row_signature(columns) -%}
    md5(concat_ws('|', {% for c in columns %}coalesce(cast({{ c }} as varchar), '\x00'){{ ", " if not loop.last }}{% endfor %}))
{%- endmacro %}

{% macro duckdb__row_signature(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

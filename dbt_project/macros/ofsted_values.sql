{#- Ofsted withholds children's home names and addresses: 'REDACTED' (or blank) becomes null. -#}
{% macro withheld_as_null(expr) -%}
    case when upper(trim({{ expr }})) in ('REDACTED', '') then null else trim({{ expr }}) end
{%- endmacro %}

{#- One spelling per sector across years. -#}
{% macro canonical_sector(expr) -%}
    case lower(trim({{ expr }}))
        when 'private' then 'Private'
        when 'voluntary' then 'Voluntary'
        when 'local authority' then 'Local Authority'
        when 'health authority' then 'Health Authority'
        else nullif(trim({{ expr }}), '')
    end
{%- endmacro %}

{#- Inspection judgements: 'Requires Improvement to be good' and 'Requires improvement to be good' are one grade. -#}
{% macro canonical_rating(expr) -%}
    case
        when lower(trim({{ expr }})) = 'outstanding' then 'Outstanding'
        when lower(trim({{ expr }})) = 'good' then 'Good'
        when lower(trim({{ expr }})) like 'requires improvement%' then 'Requires improvement to be good'
        when lower(trim({{ expr }})) = 'inadequate' then 'Inadequate'
        when lower(trim({{ expr }})) = 'adequate' then 'Adequate'
        when lower(trim({{ expr }})) = 'satisfactory' then 'Satisfactory'
        else nullif(trim({{ expr }}), '')
    end
{%- endmacro %}

{#- SSDA903 returns re-report earlier years: among rows for the same child (and episode), the latest return
    wins - the highest collection year, then the latest file name, then the last row. One rule for every table. -#}
{% macro latest_return_first() -%}
    collection_year desc, source_file desc, source_row_number desc
{%- endmacro %}

{#- Staging reads only the rows of included files (audit.included_files): a return that failed a blocking check is
    held back, and the last good version of each of its files, if any, stands in its place. -#}
{% macro included_files_only() -%}
    file_sha256 in (select included.file_sha256 from {{ source('audit', 'included_files') }} as included)
{%- endmacro %}

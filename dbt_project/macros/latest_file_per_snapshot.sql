{#- When a publication is re-issued, the file loaded last for a snapshot date wins: the rows of that one file. -#}
{% macro latest_file_per_snapshot(relation) -%}
    select ranked_rows.*
    from (
        select
            {{ relation }}.*,
            dense_rank() over (
                partition by snapshot_date order by load_id desc, file_sha256 desc
            ) as file_rank
        from {{ relation }}
    ) as ranked_rows
    where ranked_rows.file_rank = 1
{%- endmacro %}

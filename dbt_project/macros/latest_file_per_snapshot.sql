{#- When a publication is re-issued, the file loaded last for a snapshot date wins: the rows of that one file. -#}
{% macro latest_file_per_snapshot(relation) -%}
    select ranked_rows.*
    from (
        select
            source_rows.*,
            dense_rank() over (
                partition by source_rows.snapshot_date
                order by source_rows.load_id desc, source_rows.file_sha256 desc
            ) as file_rank
        from {{ relation }} as source_rows
    ) as ranked_rows
    where ranked_rows.file_rank = 1
{%- endmacro %}

{#- `order by <columns>` on a full build of an incremental model, nothing on an incremental run:
    the table is written as files of narrow ranges of its merge_bound column
    (spark.sql.files.maxRecordsPerFile), which bounded merges then skip. Databricks clusters the
    tables instead (liquid_clustered_by). -#}
{% macro full_build_order(columns) -%}
    {%- if not is_incremental() and target.type != 'databricks' -%}
    order by {{ columns | join(', ') }}
    {%- endif -%}
{%- endmacro %}

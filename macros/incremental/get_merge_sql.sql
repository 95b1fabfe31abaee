{#- The MERGE of every incremental model, on dbt-spark and dbt-databricks alike: rows matched on
    the unique key, within the model's merge bounds (merge_bound), are updated, new ones inserted.
    A model that recomputes keys (config `removes_rows=true`) also sends the stored rows that no
    longer hold, flagged `is_removed` (removed_rows): the merge deletes them, in the same commit,
    so no reader ever sees them. `*` names the stored table's columns: Delta ignores the source's
    extra `is_removed` (schema evolution is off, spark.databricks.delta.schema.autoMerge). -#}
{% macro get_merge_sql_delta(target, source, unique_key, incremental_predicates) -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set on = (incremental_predicates or []) + merge_bound_predicates() -%}
    {%- for key in keys -%}
        {%- do on.append('DBT_INTERNAL_SOURCE.' ~ key ~ ' = DBT_INTERNAL_DEST.' ~ key) -%}
    {%- endfor -%}
    {%- set removes = config.get('removes_rows', false) -%}
merge into {{ target }} as DBT_INTERNAL_DEST
using {{ source }} as DBT_INTERNAL_SOURCE
on {{ on | join('\n    and ') }}
{%- if removes %}
when matched and DBT_INTERNAL_SOURCE.is_removed then delete
{%- endif %}
when matched then update set *
when not matched{{ ' and not DBT_INTERNAL_SOURCE.is_removed' if removes }} then insert *
{%- endmacro %}


{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {{ return(get_merge_sql_delta(target, source, unique_key, incremental_predicates)) }}
{%- endmacro %}


{% macro databricks__get_merge_sql(
    target, source, unique_key, dest_columns, incremental_predicates
) -%}
    {{ return(get_merge_sql_delta(target, source, unique_key, incremental_predicates)) }}
{%- endmacro %}

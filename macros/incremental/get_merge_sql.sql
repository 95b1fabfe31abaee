{#- dbt-spark's and dbt-databricks's merges, with the model's merge bounds added to the ON
    clause. -#}
{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {{ return(dbt.spark__get_merge_sql(
        target, source, unique_key, dest_columns,
        (incremental_predicates or []) + merge_bound_predicates()
    )) }}
{%- endmacro %}


{% macro databricks__get_merge_sql(
    target, source, unique_key, dest_columns, incremental_predicates
) -%}
    {{ return(dbt.databricks__get_merge_sql(
        target, source, unique_key, dest_columns,
        (incremental_predicates or []) + merge_bound_predicates()
    )) }}
{%- endmacro %}

{#- On the local target the ingester writes bronze Delta tables by path (it runs without the
    metastore, so it can stream while dbt builds); register them as `bronze.<table>`. On Databricks
    the ingester writes Unity Catalog tables directly and there is nothing to do. -#}
{% macro register_bronze_sources() -%}
    {{ return(adapter.dispatch('register_bronze_sources')()) }}
{%- endmacro %}

{% macro default__register_bronze_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_bronze_sources() -%}
    {%- if execute -%}
        {%- do run_query('create schema if not exists bronze') -%}
        {%- for name in ['kafka_records', 'registration_exports', 'registrations'] -%}
            {%- do run_query(
                "create table if not exists bronze." ~ name ~ " using delta location '"
                ~ var('bronze_root') ~ "/" ~ name ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro databricks__register_bronze_sources() -%}
    select 1
{%- endmacro %}

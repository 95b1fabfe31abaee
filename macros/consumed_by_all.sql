{#- Predicate: the row (its commit version in `version`) of bronze table `table` has been read
    by every model in `models`, i.e. its version is at most the smallest version those models
    recorded (record_consumed_versions). Rows committed since, by an ingester streaming while
    dbt builds, are left for the next build instead of showing as unaccounted for. A model with
    no record of the table bounds nothing. True when not executing and in a unit test. -#}
{% macro consumed_by_all(table, models, version='commit_version') -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
    true
    {%- else -%}
        {%- set key = consumed_version_key(table) -%}
        {%- set recorded = [] -%}
        {%- for name in models -%}
            {%- set found = table_properties(graph_relation(name)).get(key) -%}
            {%- if found is not none -%}
                {%- do recorded.append(found | int) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if recorded -%}
    {{ version }} <= {{ recorded | min }}
        {%- else -%}
    true
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

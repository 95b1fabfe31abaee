{#- The commit version of bronze table `table` that every model in `models` has read up to: the
    smallest version those models recorded (record_consumed_versions), or none when none of them
    has a record. Rows committed since, by an ingester streaming while dbt builds, are left for
    the next build instead of showing as unaccounted for. None when not executing and in a unit
    test. -#}
{% macro consumed_by_all(table, models) -%}
    {%- set recorded = [] -%}
    {%- if execute and model.resource_type != 'unit_test' -%}
        {%- set key = consumed_version_key(table) -%}
        {%- for name in models -%}
            {%- set found = table_properties(graph_relation(name)).get(key) -%}
            {%- if found is not none -%}
                {%- do recorded.append(found | int) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(recorded | min if recorded else none) }}
{%- endmacro %}

{#- On an incremental run, `expression` within value_range(rows, low, high); `true` on a full
    build, in a unit test or when not executing. -#}
{% macro incremental_range_bound(expression, rows, low, high=none) -%}
    {%- if not execute or not is_incremental() or model.resource_type == 'unit_test' -%}
    true
    {%- else -%}
    {{ within_range(expression, value_range(rows, low, high)) }}
    {%- endif -%}
{%- endmacro %}

{#- Layer = folder = schema: models land in `bronze`, `silver` or `gold` as named, in every
    environment (environments are separated by catalog on Databricks, by state root locally). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}

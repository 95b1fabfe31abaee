{#- The schema of the masking functions: `<catalog>.governance` (Databricks targets). -#}
{% macro governance_schema() -%}
    {{ target.catalog }}.governance
{%- endmacro %}

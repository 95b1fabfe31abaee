{#- The table property of an incremental model that records the last commit version of `table`
    it has read (record_consumed_versions writes it, commits_since_last_run reads it). -#}
{% macro consumed_version_key(table) -%}
    {{ return('lakehouse.consumed_version.' ~ table.schema ~ '.' ~ table.identifier) }}
{%- endmacro %}

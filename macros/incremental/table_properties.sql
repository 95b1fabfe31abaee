{#- The table properties of `relation` as a dict (empty when not executing, and for a table not
    built yet). -#}
{% macro table_properties(relation) -%}
    {%- set properties = {} -%}
    {%- if execute and load_relation(relation) is not none -%}
        {%- for row in run_query('show tblproperties ' ~ relation) -%}
            {%- do properties.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(properties) }}
{%- endmacro %}

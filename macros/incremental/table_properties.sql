{#- The table properties of `relation` as a dict (empty when not executing). -#}
{% macro table_properties(relation) -%}
    {%- set properties = {} -%}
    {%- if execute -%}
        {%- for row in run_query('show tblproperties ' ~ relation) -%}
            {%- do properties.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(properties) }}
{%- endmacro %}

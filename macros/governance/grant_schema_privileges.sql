{#- Privileges per layer, granted on the layer's schema (Unity Catalog passes them on to every
    table and view in it, present and future): engineers read and write bronze and silver and
    read gold; analysts read gold only. -#}
{% macro grant_schema_privileges() -%}
    {{ return(adapter.dispatch('grant_schema_privileges')()) }}
{%- endmacro %}


{% macro default__grant_schema_privileges() -%}
    select 1
{%- endmacro %}


{% macro databricks__grant_schema_privileges() -%}
    {%- set engineers = var('engineers_group') -%}
    {%- set analysts = var('analysts_group') -%}
    {%- if execute -%}
        {%- set grants -%}
            grant use catalog on catalog {{ target.catalog }} to `{{ engineers }}`;
            grant use catalog on catalog {{ target.catalog }} to `{{ analysts }}`;
            grant use schema, select, modify on schema {{ target.catalog }}.bronze to `{{ engineers }}`;
            grant use schema, select, modify on schema {{ target.catalog }}.silver to `{{ engineers }}`;
            grant use schema, select on schema {{ target.catalog }}.gold to `{{ engineers }}`;
            grant use schema, select on schema {{ target.catalog }}.gold to `{{ analysts }}`
        {%- endset -%}
        {%- for statement in grants.split(';') -%}
            {%- do run_query(statement | trim) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

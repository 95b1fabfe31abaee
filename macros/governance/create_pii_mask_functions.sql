{#- The masking functions, created (or updated) at the start of every run. -#}
{% macro create_pii_mask_functions() -%}
    {{ return(adapter.dispatch('create_pii_mask_functions')()) }}
{%- endmacro %}


{% macro default__create_pii_mask_functions() -%}
    select 1
{%- endmacro %}


{% macro databricks__create_pii_mask_functions() -%}
    {%- set readers = var('pii_readers_group') -%}
    {%- if execute -%}
        {%- set create_schema -%}
            create schema if not exists {{ governance_schema() }}
        {%- endset -%}
        {%- set create_string_mask -%}
            create or replace function {{ governance_schema() }}.mask_pii_string(value string)
            returns string
            return case when is_account_group_member('{{ readers }}') then value else '***' end
        {%- endset -%}
        {%- set create_date_mask -%}
            create or replace function {{ governance_schema() }}.mask_pii_date(value date)
            returns date
            return case when is_account_group_member('{{ readers }}') then value end
        {%- endset -%}
        {%- for statement in [create_schema, create_string_mask, create_date_mask] -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

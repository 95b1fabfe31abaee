{#- Data governance on the Databricks targets: masks on PII columns, Unity Catalog tags, and the
    schema-level privileges dbt `grants` (table level) do not cover. On the local target every
    macro here is a no-op: open-source Spark has no column masks, tags or grants. -#}

{#- Columns whose `meta.pii` is set are masked for readers outside `var('pii_readers_group')`:
    strings read as `***`, dates as null. Run as a post-hook on every silver model and snapshot. -#}
{% macro apply_pii_masks() -%}
    {{ return(adapter.dispatch('apply_pii_masks')()) }}
{%- endmacro %}

{% macro default__apply_pii_masks() -%}
{%- endmacro %}

{% macro databricks__apply_pii_masks() -%}
    {%- if execute and model.config.materialized != 'view' -%}
        {%- for name, column in model.columns.items() if column.meta.get('pii') -%}
            {%- set kind = 'date' if column.meta.get('pii_type') == 'date' else 'string' -%}
            {%- set mask = 'mask_pii_' ~ kind -%}
            {%- do run_query(
                'alter table ' ~ this ~ ' alter column ' ~ adapter.quote(name)
                ~ ' set mask ' ~ governance_schema() ~ '.' ~ mask
            ) -%}
            {%- do run_query(
                'alter table ' ~ this ~ ' alter column ' ~ adapter.quote(name)
                ~ " set tags ('pii' = '" ~ column.meta.get('pii_type', 'text') ~ "')"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro governance_schema() -%}
    {{ target.catalog }}.governance
{%- endmacro %}

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
        {%- do run_query('create schema if not exists ' ~ governance_schema()) -%}
        {%- do run_query(
            'create or replace function ' ~ governance_schema() ~ '.mask_pii_string(value string) '
            ~ "returns string return case when is_account_group_member('" ~ readers
            ~ "') then value else '***' end"
        ) -%}
        {%- do run_query(
            'create or replace function ' ~ governance_schema() ~ '.mask_pii_date(value date) '
            ~ "returns date return case when is_account_group_member('" ~ readers
            ~ "') then value end"
        ) -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- Schema privileges per layer: engineers use and write bronze and silver, analysts use gold
    (table privileges come from each layer's `grants`). -#}
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
        {%- for statement in [
            'grant use catalog on catalog ' ~ target.catalog ~ ' to `' ~ engineers ~ '`',
            'grant use catalog on catalog ' ~ target.catalog ~ ' to `' ~ analysts ~ '`',
            'grant use schema, select, modify on schema ' ~ target.catalog ~ '.bronze to `' ~ engineers ~ '`',
            'grant use schema, select, modify on schema ' ~ target.catalog ~ '.silver to `' ~ engineers ~ '`',
            'grant use schema, select on schema ' ~ target.catalog ~ '.gold to `' ~ engineers ~ '`',
            'grant use schema on schema ' ~ target.catalog ~ '.gold to `' ~ analysts ~ '`',
        ] -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

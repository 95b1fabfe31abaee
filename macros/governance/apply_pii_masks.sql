{#- Data governance on the Databricks targets (the macros of this folder): masks on PII columns,
    Unity Catalog tags, and the schema-level privileges dbt `grants` (table level) do not cover.
    On the local target each is a no-op: open-source Spark has no column masks, tags or grants. -#}

{#- Columns whose `meta.pii` is set (direct identifiers, raw payloads) are masked for readers
    outside `var('pii_readers_group')`: strings read as `***`, dates as null; they are tagged
    `pii`. Columns whose `meta.personal` is set (`identifier`, `quasi_identifier`, `health`) are
    personal data readers may see, tagged `personal_data`. Run as a post-hook on every silver and
    gold model and snapshot. -#}
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
            {%- set set_mask -%}
                alter table {{ this }} alter column {{ adapter.quote(name) }}
                set mask {{ governance_schema() }}.{{ mask }}
            {%- endset -%}
            {%- set set_tag -%}
                alter table {{ this }} alter column {{ adapter.quote(name) }}
                set tags ('pii' = '{{ column.meta.get('pii_type', 'text') }}')
            {%- endset -%}
            {%- do run_query(set_mask) -%}
            {%- do run_query(set_tag) -%}
        {%- endfor -%}
        {%- for name, column in model.columns.items() if column.meta.get('personal') -%}
            {%- set set_tag -%}
                alter table {{ this }} alter column {{ adapter.quote(name) }}
                set tags ('personal_data' = '{{ column.meta.get('personal') }}')
            {%- endset -%}
            {%- do run_query(set_tag) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- Post-hook of incremental models that recompute a set of keys: the merge marks rows that no
    longer hold with is_removed = true, then this deletes them (portable MERGE has no delete). -#}
{% macro delete_removed_rows() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where is_removed
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of silver models that other incremental models read by commit version: turn on
    Delta row tracking (`_metadata.row_commit_version`) if the table does not have it yet (a new
    table, one re-created by a full refresh, or one built before row tracking was used). -#}
{% macro enable_row_tracking() -%}
    {%- if execute and table_properties(this).get('delta.enableRowTracking') != 'true' -%}
    alter table {{ this }} set tblproperties ('delta.enableRowTracking' = 'true')
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

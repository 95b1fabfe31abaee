{#- The commit version of the Delta table version that last wrote each row (row tracking,
    `delta.enableRowTracking`): the marker incremental models read their parents by. In a unit
    test the parents are fixtures, not Delta tables, and the marker is null. -#}
{% macro row_commit_version() -%}
    {%- if execute and model.resource_type == 'unit_test' -%}
    cast(null as bigint)
    {%- else -%}
    _metadata.row_commit_version
    {%- endif -%}
{%- endmacro %}

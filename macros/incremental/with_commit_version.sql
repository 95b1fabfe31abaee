{#- Every row of `relation` (a Delta table with row tracking) with the commit version that last
    wrote it, as `commit_version` (row_commit_version): what incremental models read new commits
    by. -#}
{% macro with_commit_version(relation) -%}
    select
        *,
        {{ row_commit_version() }} as commit_version
    from {{ relation }}
{%- endmacro %}

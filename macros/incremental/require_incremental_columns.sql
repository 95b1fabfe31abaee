{#- Stops an incremental run, saying what to do (`remedy`), when the stored table lacks any of
    `columns`: a table built by an earlier version of the model, which a merge cannot update. -#}
{% macro require_incremental_columns(columns, remedy) -%}
    {%- if execute and is_incremental() and model.resource_type != 'unit_test' -%}
        {%- set found = adapter.get_columns_in_relation(this)
            | map(attribute='name') | map('lower') | list -%}
        {%- set missing = columns | reject('in', found) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                this ~ ' has no column ' ~ missing | join(', ')
                ~ ': it was built by an earlier version of the model, which a merge cannot'
                ~ ' update; ' ~ remedy
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

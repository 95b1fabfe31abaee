{#- The values of a silver key as one string, in the order given (the record ledger's
    `silver_key`); `prefix` qualifies each column. -#}
{% macro silver_key(columns, prefix='') -%}
    concat_ws('/'{% for column in columns %}, cast({{ prefix }}{{ column }} as string){% endfor %})
{%- endmacro %}

{#- A field written as digits alone (spaces around allowed) as a bigint; null for anything else,
    or for digits beyond a bigint. -#}
{% macro unsigned_integer_text(value) -%}
    case when trim({{ value }}) rlike '^[0-9]+$' then try_cast(trim({{ value }}) as bigint) end
{%- endmacro %}

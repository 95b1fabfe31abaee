{#- The JSON type of a field of a parsed payload (a VARIANT): BIGINT, DECIMAL(p,s), DOUBLE, STRING,
    BOOLEAN, OBJECT<...>, ARRAY<...>, VOID for JSON null, and NULL when the field is absent. -#}
{% macro json_type(payload, path) -%}
    schema_of_variant(try_variant_get({{ payload }}, '$.{{ path }}', 'variant'))
{%- endmacro %}

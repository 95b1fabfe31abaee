{#- The first reason a Kafka value breaks the contract, or null when it is accepted.
    fields: a list of [path, kind, required] checked in order (see json_field_reason);
    extra_checks: a list of [condition, reason] SQL pairs checked after them (enums, dates). -#}
{% macro json_rejection_reason(payload, fields, extra_checks=[]) -%}
    case
        when {{ payload }} is null then 'malformed JSON'
        when schema_of_variant({{ payload }}) not like 'OBJECT%' then 'value is not a JSON object'
        else coalesce(
            {%- for path, kind, required in fields %}
            {{ json_field_reason(payload, path, kind, required) }},
            {%- endfor %}
            {%- for condition, reason in extra_checks %}
            case when {{ condition }} then {{ reason }} end,
            {%- endfor %}
            null
        )
    end
{%- endmacro %}

{#- The first reason a Kafka record's value breaks the contract, or null when it is accepted.
    fields: a list of [path, kind, required] checked in order (see json_field_reason). A model
    checks values (enums, date formats) in its own SQL after it: `coalesce(<this>, case ... end)`.
    Expects the columns of kafka_topic: raw, key, value and payload (the parsed value). -#}
{% macro json_rejection_reason(payload, fields) -%}
    case
        when value is null then 'missing value'
        when not is_valid_utf8(concat(coalesce(raw, ''), coalesce(key, ''), value))
            then 'not valid UTF-8'
        when {{ payload }} is null then {{ json_parse_failure('value') }}
        when schema_of_variant({{ payload }}) not like 'OBJECT%' then 'value is not a JSON object'
        else coalesce(
            {%- for path, kind, required in fields %}
            {{ json_field_reason(payload, path, kind, required) }},
            {%- endfor %}
            null
        )
    end
{%- endmacro %}

{#- Why a payload field breaks the contract, or null when it is fine.
    kind: integer (a JSON number without fraction), number, string, string_or_integer, object. -#}
{% macro json_field_reason(payload, path, kind, required=true) -%}
    {%- set t = json_type(payload, path) -%}
    {%- set accepted = {
        'integer': t ~ " rlike '^(TINYINT|SMALLINT|INT|BIGINT|DECIMAL[(][0-9]+,0[)])$'",
        'number': t ~ " rlike '^(TINYINT|SMALLINT|INT|BIGINT|FLOAT|DOUBLE|DECIMAL.*)$'",
        'string': t ~ " = 'STRING'",
        'string_or_integer': t ~ " rlike '^(STRING|TINYINT|SMALLINT|INT|BIGINT)$'",
        'object': t ~ " like 'OBJECT%'",
    } -%}
    case
        when {{ t }} is null or {{ t }} = 'VOID'
            then {{ "'missing field " ~ path ~ "'" if required else 'null' }}
        when not ({{ accepted[kind] }})
            then concat('wrong type for {{ path }}: expected {{ kind }}, got ', lower({{ t }}))
    end
{%- endmacro %}

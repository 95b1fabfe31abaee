{#- Why a payload field breaks the contract, or null when it is fine.
    kind: integer (a JSON number without fraction that fits a bigint), number (a finite JSON
    number), epoch (a number of epoch seconds inside the timestamp range), string,
    string_or_integer, object. -#}
{% macro json_field_reason(payload, path, kind, required=true) -%}
    {%- set t = json_type(payload, path) -%}
    {%- set field = "try_variant_get(" ~ payload ~ ", '$." ~ path ~ "', " -%}
    {%- set integer = t ~ " rlike '^(TINYINT|SMALLINT|INT|BIGINT|DECIMAL[(][0-9]+,0[)])$'" -%}
    {%- set number = t ~ " rlike '^(TINYINT|SMALLINT|INT|BIGINT|FLOAT|DOUBLE|DECIMAL.*)$'" -%}
    {%- set accepted = {
        'integer': integer,
        'number': number,
        'epoch': number,
        'string': t ~ " = 'STRING'",
        'string_or_integer': t ~ " = 'STRING' or " ~ integer,
        'object': t ~ " like 'OBJECT%'",
    } -%}
    case
        when {{ t }} is null or {{ t }} = 'VOID'
            then {{ "'missing field " ~ path ~ "'" if required else 'null' }}
        when not ({{ accepted[kind] }})
            then concat('wrong type for {{ path }}: expected {{ kind }}, got ', lower({{ t }}))
        {%- if kind == 'integer' %}
        when {{ field }}'bigint') is null then '{{ path }} overflows bigint'
        {%- elif kind == 'number' %}
        when abs({{ field }}'double')) = double('infinity') then '{{ path }} overflows double'
        {%- elif kind == 'epoch' %}
        when {{ json_epoch(payload, path) }} is null then '{{ path }} out of range'
        {%- endif %}
    end
{%- endmacro %}

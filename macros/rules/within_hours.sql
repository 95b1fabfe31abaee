{#- True when `later` is at most `hours` hours after `earlier` (inclusive, microsecond exact).
    3600000000 is a BIGINT literal, so the product cannot overflow 32 bits. -#}
{% macro within_hours(earlier, later, hours) -%}
    unix_micros({{ later }}) - unix_micros({{ earlier }}) <= {{ hours }} * 3600000000
{%- endmacro %}

{#- True when `value` is a MAC address (six pairs of hex digits joined by colons, either case,
    surrounding blanks ignored); false, never null, otherwise. -#}
{% macro is_mac_address(value) -%}
    coalesce(lower(trim({{ value }})) rlike '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$', false)
{%- endmacro %}

{#- Epoch seconds (integer or fractional, never a 32-bit float) to a UTC timestamp, exact to the
    microsecond. `value` is any numeric or text SQL expression. -#}
{% macro epoch_to_timestamp(value) -%}
    timestamp_micros(cast(round(try_cast({{ value }} as decimal(24, 6)) * 1000000, 0) as bigint))
{%- endmacro %}

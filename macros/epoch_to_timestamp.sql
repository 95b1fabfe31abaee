{#- Epoch seconds (integer or fractional, never a 32-bit float) to a UTC timestamp, exact to the
    microsecond. `value` is any numeric or text SQL expression; out-of-range values give null
    (try_cast), so the SQL behaves alike with ANSI mode on (Databricks) or off (dbt-spark). -#}
{% macro epoch_to_timestamp(value) -%}
    timestamp_micros(
        try_cast(round(try_cast({{ value }} as decimal(24, 6)) * 1000000, 0) as bigint)
    )
{%- endmacro %}

{#- Epoch seconds (integer or fractional, never a 32-bit float) to a UTC timestamp, exact to the
    microsecond. `value` is any numeric or text SQL expression. A value that is not a number, or
    lies outside the timestamp range (0001-01-01 to 9999-12-31 UTC), gives null: the SQL never
    fails, with ANSI mode on (Databricks) or off (dbt-spark). -#}
{% macro epoch_to_timestamp(value) -%}
    {%- set micros -%}
        try_cast(round(try_cast({{ value }} as decimal(24, 6)) * 1000000, 0) as bigint)
    {%- endset -%}
    case
        when {{ micros }} between -62135596800000000 and 253402300799999999
            then timestamp_micros({{ micros }})
    end
{%- endmacro %}

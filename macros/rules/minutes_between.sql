{#- [Rule 9](docs/contract.md#rule-9): minutes from `start` to `stop`, computed in decimal from the
    microsecond timestamps and rounded half up to 2 decimals. -#}
{% macro minutes_between(start, stop) -%}
    {{ minutes_of_micros('unix_micros(' ~ stop ~ ') - unix_micros(' ~ start ~ ')') }}
{%- endmacro %}

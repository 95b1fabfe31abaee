{#- [Rule 9](docs/contract.md#rule-9): minutes from `start` to `stop`, computed in decimal from the
    microsecond timestamps and rounded half up to 2 decimals. -#}
{% macro minutes_between(start, stop) -%}
    cast(round(
        cast(unix_micros({{ stop }}) - unix_micros({{ start }}) as decimal(20, 0)) / 60000000, 2
    ) as decimal(18, 2))
{%- endmacro %}

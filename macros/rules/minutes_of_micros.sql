{#- A number of microseconds as minutes, in decimal, rounded half up to 2 decimals once
    ([rule 9](docs/contract.md#rule-9), [rule 16](docs/contract.md#rule-16)). -#}
{% macro minutes_of_micros(micros) -%}
    cast(round(cast({{ micros }} as decimal(20, 0)) / 60000000, 2) as decimal(18, 2))
{%- endmacro %}

{#- `expression` within a value_range as literals; `false` for none (no rows). -#}
{% macro within_range(expression, range) -%}
    {%- if range is none -%}
    false
    {%- else -%}
    {{ expression }} between cast('{{ range.low }}' as {{ range.type }})
        and cast('{{ range.high }}' as {{ range.type }})
    {%- endif -%}
{%- endmacro %}

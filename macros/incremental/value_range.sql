{#- The smallest `low` and the largest `high` (default: `low`) of the SQL `rows`, read by one
    query: a dict of `low`, `high` (text) and `type`, or none when `rows` is empty. -#}
{% macro value_range(rows, low, high=none) -%}
    {%- set query -%}
        select
            cast(min({{ low }}) as string),
            cast(max({{ high or low }}) as string),
            typeof(min({{ low }}))
        from ({{ rows }})
    {%- endset -%}
    {%- set found = run_query(query).rows[0] -%}
    {%- if found[0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set ordered = 'date|timestamp|(tiny|small|big)?int|float|double|decimal\\(.*\\)' -%}
    {%- if not modules.re.fullmatch(ordered, found[2]) -%}
        {{ exceptions.raise_compiler_error(
            'a ' ~ found[2] ~ ' column (' ~ low ~ ') cannot bound a read or a merge; '
            ~ 'use a date, timestamp or numeric column'
        ) }}
    {%- endif -%}
    {{ return({'low': found[0], 'high': found[1], 'type': found[2]}) }}
{%- endmacro %}

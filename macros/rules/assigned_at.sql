{#- True when `at` lies in the interval of `assignments` ([rule 5](docs/contract.md#rule-5): from
    the registration to the next one of the same device, or of the same MAC address with
    `by='mac'`; either end open when null). -#}
{% macro assigned_at(at, assignments='assignments', by='device') -%}
    (
        {{ assignments }}.{{ by }}_valid_from is null
        or {{ at }} >= {{ assignments }}.{{ by }}_valid_from
    )
    and (
        {{ assignments }}.{{ by }}_valid_to is null
        or {{ at }} < {{ assignments }}.{{ by }}_valid_to
    )
{%- endmacro %}

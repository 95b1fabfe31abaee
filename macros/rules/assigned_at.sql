{#- True when `at` lies in the interval of `assignments` ([rule 5](docs/contract.md#rule-5): from
    the device's registration to its next one, either end open when null). -#}
{% macro assigned_at(at, assignments='assignments') -%}
    (
        {{ assignments }}.device_valid_from is null
        or {{ at }} >= {{ assignments }}.device_valid_from
    )
    and (
        {{ assignments }}.device_valid_to is null
        or {{ at }} < {{ assignments }}.device_valid_to
    )
{%- endmacro %}

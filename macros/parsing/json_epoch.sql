{#- A payload field in epoch seconds as a UTC timestamp. -#}
{% macro json_epoch(payload, path) -%}
    {{ epoch_to_timestamp("try_variant_get(" ~ payload ~ ", '$." ~ path ~ "', 'decimal(24,6)')") }}
{%- endmacro %}

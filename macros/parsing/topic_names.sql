{#- The Kafka topic name of each contract topic key. The ingester's settings own the names;
    `lakehouse build` passes them (`--vars '{topics: {...}}'`), and a run without the var reads
    each topic under its own key, as the ingester does by default. -#}
{% macro topic_names() -%}
    {%- set given = var('topics', {}) -%}
    {%- set names = {} -%}
    {%- for key in ['user_info', 'bpm', 'workout', 'gym_login'] -%}
        {%- do names.update({key: given.get(key, key)}) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

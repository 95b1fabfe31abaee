{#- The bronze Kafka records of one contract topic (by its key in topic_names()), payload parsed,
    with the commit version that wrote each (stg_kafka__records). -#}
{% macro kafka_topic(topic_key) -%}
    select
        *,
        try_parse_json(value) as payload
    from {{ ref('stg_kafka__records') }}
    where topic = '{{ topic_names()[topic_key] }}'
{%- endmacro %}

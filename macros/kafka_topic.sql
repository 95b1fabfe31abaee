{#- The bronze Kafka records of one contract topic (by its key in var('topics')), payload
    parsed. -#}
{% macro kafka_topic(topic_key) -%}
    select
        *,
        try_parse_json(value) as payload
    from {{ source('bronze', 'kafka_records') }}
    where topic = '{{ var("topics")[topic_key] }}'
{%- endmacro %}

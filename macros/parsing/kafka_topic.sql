{#- The bronze Kafka records of one contract topic (by its key in topic_names()), payload parsed,
    with the commit version that wrote each (row tracking). -#}
{% macro kafka_topic(topic_key) -%}
    select
        *,
        try_parse_json(value) as payload,
        {{ row_commit_version() }} as commit_version
    from {{ source('bronze', 'kafka_records') }}
    where topic = '{{ topic_names()[topic_key] }}'
{%- endmacro %}

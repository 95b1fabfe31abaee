{#- The bronze record's identity and lineage columns, as every topic's staging model exposes
    them. -#}
{% macro kafka_record_columns() -%}
        record_id,
        topic,
        `partition`,
        `offset`,
        value,
        source as record_source,
        ingested_at,
        commit_version,
{%- endmacro %}

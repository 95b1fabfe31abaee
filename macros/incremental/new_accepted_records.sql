{#- The accepted records of a topic's staging view (`staging`) committed to bronze since the
    model last read it (commits_since_last_run): `columns` (names or `expression as name`), then
    the record's id and Kafka coordinates, which [rule 1](docs/contract.md#rule-1) and
    [rule 4](docs/contract.md#rule-4) order by, and its arrival. -#}
{% macro new_accepted_records(staging, columns) -%}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        record_id,
        `partition` as source_partition,
        `offset` as source_offset,
        ingested_at
    from {{ staging }}
    where rejection_reason is null
        and {{ commits_since_last_run(graph_relation('kafka_records', 'bronze')) }}
{%- endmacro %}

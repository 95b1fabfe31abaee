{#- Every bronze Kafka record as landed, with the commit version that last wrote it (row
    tracking): the one model that reads bronze.kafka_records; the topic views, the unrouted
    records and the record ledger read it. -#}
select
    record_id,
    topic,
    `partition`,
    `offset`,
    key,
    value,
    kafka_timestamp,
    raw,
    source,
    source_file,
    ingested_at,
    {{ row_commit_version() }} as commit_version
from {{ source('bronze', 'kafka_records') }}

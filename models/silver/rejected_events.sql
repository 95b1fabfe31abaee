{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='record_id',
    post_hook="{{ record_consumed_versions() }}",
) }}

{%- set new_kafka_records = commits_since_last_run(graph_relation('kafka_records', 'bronze')) %}
{%- set new_exports = commits_since_last_run(
    graph_relation('registration_exports', 'bronze'), where="channel = 'export'"
) %}
{%- set new_extracts = commits_since_last_run(
    graph_relation('registrations', 'bronze'), where="channel = 'database'"
) %}

-- [rule 11](docs/contract.md#rule-11): every record kept out of silver, once, with the reason
with

rejected as (

    {% for model in [
        'stg_kafka__user_info', 'stg_kafka__bpm', 'stg_kafka__workout', 'stg_kafka__gym_login',
        'stg_kafka__unrouted',
    ] %}
    select
        record_id,
        case when topic is null then 'landing' else 'kafka' end as source,
        topic,
        `partition`,
        `offset`,
        rejection_reason as reason,
        value,
        ingested_at
    from {{ ref(model) }}
    where rejection_reason is not null
        and {{ new_kafka_records }}

    union all
    {% endfor %}

    select
        record_id,
        'registrations' as source,
        cast(null as string) as topic,
        cast(null as int) as `partition`,
        cast(null as bigint) as `offset`,
        rejection_reason as reason,
        value,
        ingested_at
    from {{ ref('stg_registrations') }}
    where rejection_reason is not null
        and {{ new_exports }}
        and {{ new_extracts }}

),

deduplicated as (

    select
        *,
        row_number() over (partition by record_id order by ingested_at) as position
    from rejected

)

select
    source,
    topic,
    `partition`,
    `offset`,
    reason,
    value,
    ingested_at,
    record_id
from deduplicated
where position = 1

{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_id', 'workout_id', 'session_id', 'action', 'event_at'],
    post_hook="{{ record_consumed_versions() }}",
    tblproperties={'delta.enableRowTracking': 'true'},
) }}

{%- set new_events = new_accepted_records(
    ref('stg_kafka__workout'), ['user_id', 'workout_id', 'session_id', 'action', 'event_at']
) %}

with

candidates as (

    {{ with_stored_rows(
        new_events, key=['user_id', 'workout_id', 'session_id', 'action', 'event_at'],
        columns=['user_id', 'workout_id', 'session_id', 'action', 'event_at', 'record_id',
                 'source_partition', 'source_offset', 'ingested_at'],
        bound='event_at',
    ) }}

),

ranked as (

    -- [rule 6](docs/contract.md#rule-6): identical start or stop events collapse into the first by
    -- (partition, offset), whatever order they arrive in
    select
        *,
        row_number() over (
            partition by user_id, workout_id, session_id, action, event_at
            order by source_partition, source_offset, record_id
        ) as position
    from candidates

)

select
    user_id,
    workout_id,
    session_id,
    action,
    event_at,
    record_id,
    source_partition,
    source_offset,
    ingested_at
from ranked
where position = 1
{{ full_build_order(['event_at']) }}

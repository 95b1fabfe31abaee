{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_id', 'workout_id', 'session_id', 'action', 'event_at'],
    post_hook=["{{ enable_row_tracking() }}", "{{ record_consumed_versions() }}"],
) }}

with

new_events as (

    select
        user_id,
        workout_id,
        session_id,
        action,
        event_at,
        ingested_at,
        row_number() over (
            partition by user_id, workout_id, session_id, action, event_at
            order by ingested_at, `partition`, `offset`
        ) as position
    from {{ ref('stg_kafka__workout') }}
    where rejection_reason is null
        and {{ commits_since_last_run(graph_relation('kafka_records', 'bronze')) }}

)

-- rule 6: identical start or stop events collapse
select
    user_id,
    workout_id,
    session_id,
    action,
    event_at,
    ingested_at
from new_events
where position = 1

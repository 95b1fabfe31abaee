{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_id', 'workout_id', 'session_id', 'action', 'event_at'],
    post_hook=["{{ enable_row_tracking() }}", "{{ record_consumed_versions() }}"],
) }}

{% set new_events %}
    select
        user_id,
        workout_id,
        session_id,
        action,
        event_at,
        record_id,
        `partition` as source_partition,
        `offset` as source_offset,
        ingested_at
    from {{ ref('stg_kafka__workout') }}
    where rejection_reason is null
        and {{ commits_since_last_run(graph_relation('kafka_records', 'bronze')) }}
{% endset %}

with

new_events as (

    {{ new_events }}

),

candidates as (

    select * from new_events

    {% if is_incremental() %}
    union all

    select
        current_rows.user_id,
        current_rows.workout_id,
        current_rows.session_id,
        current_rows.action,
        current_rows.event_at,
        current_rows.record_id,
        current_rows.source_partition,
        current_rows.source_offset,
        current_rows.ingested_at
    from {{ this }} as current_rows
    left semi join new_events
        on current_rows.user_id = new_events.user_id
        and current_rows.workout_id = new_events.workout_id
        and current_rows.session_id = new_events.session_id
        and current_rows.action = new_events.action
        and current_rows.event_at = new_events.event_at
    where {{ merge_bound('event_at', new_events, 'current_rows') }}
    {% endif %}

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

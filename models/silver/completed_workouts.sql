{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_id', 'workout_id', 'session_id', 'start_time'],
    removes_rows=true,
    post_hook="{{ record_consumed_versions() }}",
) }}

with

workouts as (

    {{ with_commit_version(ref('workouts')) }}

),

touched_keys as (

    select distinct user_id, workout_id, session_id
    from workouts
    where {{ commits_since_last_run(ref('workouts')) }}

),

events as (

    select workouts.*
    from workouts
    left semi join touched_keys
        on workouts.user_id = touched_keys.user_id
        and workouts.workout_id = touched_keys.workout_id
        and workouts.session_id = touched_keys.session_id

),

following as (

    -- for each event of a key, the first stop and the first start strictly after it
    select
        *,
        min(case when action = 'stop' then event_at end) over later as first_stop_at,
        min(case when action = 'start' then event_at end) over later as next_start_at
    from events
    window later as (
        partition by user_id, workout_id, session_id
        order by unix_micros(event_at)
        range between 1 following and unbounded following
    )

),

paired as (

    -- [rule 6](docs/contract.md#rule-6): completed by the first stop strictly after the start, at
    -- most var('workout_max_hours') later, with no other start strictly between them
    select
        user_id,
        workout_id,
        session_id,
        event_at as start_time,
        first_stop_at as end_time
    from following
    where action = 'start'
        and {{ within_hours('event_at', 'first_stop_at', var('workout_max_hours')) }}
        and (next_start_at is null or next_start_at >= first_stop_at)

),

key_ingested_at as (

    select user_id, workout_id, session_id, max(ingested_at) as ingested_at
    from events
    group by 1, 2, 3

),

recomputed as (

    select
        paired.*,
        key_ingested_at.ingested_at
    from paired
    inner join key_ingested_at
        on paired.user_id = key_ingested_at.user_id
        and paired.workout_id = key_ingested_at.workout_id
        and paired.session_id = key_ingested_at.session_id

)

-- the recomputed rows and, on an incremental run, the stored rows of the recomputed keys that no
-- longer hold: a late start or stop re-paired them (removed by the merge)
{{ removed_rows(
    'touched_keys', 'recomputed',
    keys=['user_id', 'workout_id', 'session_id'],
    grain=['user_id', 'workout_id', 'session_id', 'start_time'],
    columns=['user_id', 'workout_id', 'session_id', 'start_time', 'end_time', 'ingested_at'],
) }}

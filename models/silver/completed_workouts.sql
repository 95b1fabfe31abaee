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

starts as (

    select * from events where action = 'start'

),

stops as (

    select * from events where action = 'stop'

),

first_stop as (

    select
        starts.user_id,
        starts.workout_id,
        starts.session_id,
        starts.event_at as start_time,
        min(stops.event_at) as end_time
    from starts
    inner join stops
        on starts.user_id = stops.user_id
        and starts.workout_id = stops.workout_id
        and starts.session_id = stops.session_id
        and stops.event_at > starts.event_at
    group by 1, 2, 3, 4

),

next_start as (

    select
        starts.user_id,
        starts.workout_id,
        starts.session_id,
        starts.event_at as start_time,
        min(later.event_at) as next_start_time
    from starts
    inner join starts as later
        on starts.user_id = later.user_id
        and starts.workout_id = later.workout_id
        and starts.session_id = later.session_id
        and later.event_at > starts.event_at
    group by 1, 2, 3, 4

),

paired as (

    -- [rule 6](docs/contract.md#rule-6): completed by the first stop strictly after the start, at
    -- most var('workout_max_hours') later, with no other start strictly between them
    select
        first_stop.user_id,
        first_stop.workout_id,
        first_stop.session_id,
        first_stop.start_time,
        first_stop.end_time
    from first_stop
    left join next_start
        on first_stop.user_id = next_start.user_id
        and first_stop.workout_id = next_start.workout_id
        and first_stop.session_id = next_start.session_id
        and first_stop.start_time = next_start.start_time
    where {{ within_hours('first_stop.start_time', 'first_stop.end_time',
                          var('workout_max_hours')) }}
        and (
            next_start.next_start_time is null
            or next_start.next_start_time >= first_stop.end_time
        )

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

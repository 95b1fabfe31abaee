{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_id', 'workout_id', 'session_id', 'start_time', 'device_id', 'measured_at'],
    removes_rows=true,
    post_hook="{{ record_consumed_versions() }}",
    liquid_clustered_by=(['user_id', 'start_time'] if target.type == 'databricks' else none),
) }}

{% set touched_workouts %}
with

completed as (

    select * from {{ ref('completed_workouts') }}

),

assignments as (

    select * from {{ ref('device_assignments') }}

),

readings as (

    {{ with_commit_version(ref('heart_rate')) }}

),

---------- workouts whose rows this run may change

touched_by_events as (

    select distinct user_id, workout_id, session_id
    from {{ ref('workouts') }}
    where {{ commits_since_last_run(ref('workouts'), version=row_commit_version()) }}

),

touched_by_readings as (

    select distinct completed.user_id, completed.workout_id, completed.session_id
    from readings
    inner join assignments
        on readings.device_id = assignments.device_id
        and {{ assigned_at('readings.measured_at') }}
    inner join completed
        on assignments.user_id = completed.user_id
        and readings.measured_at > completed.start_time
        and readings.measured_at <= completed.end_time
    where {{ commits_since_last_run(
        ref('heart_rate'), 'readings.commit_version', 'readings.ingested_at'
    ) }}

),

touched_by_registrations as (

    -- a late registration re-assigns a device: every user it ever belonged to is recomputed
    select distinct completed.user_id, completed.workout_id, completed.session_id
    from completed
    left semi join assignments as owners
        on completed.user_id = owners.user_id
        and owners.device_id in (
            select device_id from assignments
            where {{ commits_since_last_run(
                graph_relation('users'), 'assignments.commit_version', 'assignments.ingested_at'
            ) }}
        )

),

touched as (

    select * from touched_by_events
    union
    select * from touched_by_readings
    union
    select * from touched_by_registrations

),

touched_completed as (

    select completed.*
    from completed
    left semi join touched
        on completed.user_id = touched.user_id
        and completed.workout_id = touched.workout_id
        and completed.session_id = touched.session_id

)
{% endset %}

{#- The readings a touched workout can hold lie within the touched workouts' span. -#}
{%- set readings_bound = incremental_range_bound(
    'readings.measured_at', touched_workouts ~ ' select * from touched_completed',
    'start_time', 'end_time',
) %}

{{ touched_workouts }},

---------- [rule 5](docs/contract.md#rule-5) and [rule 7](docs/contract.md#rule-7), for the touched
---------- workouts

recomputed as (

    select
        completed.user_id,
        completed.workout_id,
        completed.session_id,
        completed.start_time,
        completed.end_time,
        readings.device_id,
        readings.measured_at,
        readings.heartrate,
        greatest(completed.ingested_at, assignments.ingested_at, readings.ingested_at)
            as ingested_at
    from touched_completed as completed
    inner join assignments
        on completed.user_id = assignments.user_id
    inner join readings
        on assignments.device_id = readings.device_id
        and readings.measured_at > completed.start_time
        and readings.measured_at <= completed.end_time
        and {{ assigned_at('readings.measured_at') }}
    where readings.is_valid
        and {{ readings_bound }}

)

-- the recomputed rows and, on an incremental run, the stored rows of touched workouts that no
-- longer hold: re-paired, re-assigned or now invalid (removed by the merge)
{{ removed_rows(
    'touched', 'recomputed',
    keys=['user_id', 'workout_id', 'session_id'],
    grain=['user_id', 'workout_id', 'session_id', 'start_time', 'device_id', 'measured_at'],
    columns=['user_id', 'workout_id', 'session_id', 'start_time', 'end_time', 'device_id',
             'measured_at', 'heartrate', 'ingested_at'],
) }}

{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_id', 'workout_id', 'session_id', 'start_time'],
    removes_rows=true,
    post_hook="{{ record_consumed_versions() }}",
    liquid_clustered_by=(['user_id', 'start_time'] if target.type == 'databricks' else none),
) }}

{#- [Rule 15](docs/contract.md#rule-15): time in each heart-rate zone, training impulse and
    reading coverage per completed workout with a valid reading. An incremental run recomputes
    the workouts whose readings workout_bpm re-wrote since the last run, those whose age the
    current profiles change, and removes those that lost every reading. -#}
-- depends_on: {{ ref('workout_bpm_summary') }}
{{ require_incremental_columns(
    ['ingested_at'],
    'rebuild it once: lakehouse build --env ENV --select workout_hr_zones --full-refresh'
    ~ ' (on Databricks: dbt build --target ENV --select workout_hr_zones --full-refresh)',
) }}
{% set touched_workouts %}
with

bpm as (

    {{ with_commit_version(ref('workout_bpm')) }}

),

profiles as (

    select
        user_id,
        dob
    from {{ ref('user_profile') }}

),

---------- workouts whose row this run may change (a full build, too, records what it read)

touched_by_readings as (

    -- workout_bpm merges every row of each workout it recomputes, so one re-written row marks
    -- the workout
    select distinct user_id, workout_id, session_id, start_time
    from bpm
    where {{ commits_since_last_run(ref('workout_bpm')) }}

)
{%- if is_incremental() %},

touched_by_profiles as (

    -- a new, changed or deleted date of birth changes the age
    select
        current_rows.user_id,
        current_rows.workout_id,
        current_rows.session_id,
        current_rows.start_time
    from {{ this }} as current_rows
    left join profiles
        on current_rows.user_id = profiles.user_id
    where not current_rows.age <=> {{
        age_in_years('profiles.dob', 'to_date(current_rows.start_time)') }}

),

touched_by_removals as (

    -- workouts left with no valid reading are no longer workouts of workout_bpm_summary
    select
        current_rows.user_id,
        current_rows.workout_id,
        current_rows.session_id,
        current_rows.start_time
    from {{ this }} as current_rows
    left anti join {{ ref('workout_bpm_summary') }} as summaries
        on current_rows.user_id = summaries.user_id
        and current_rows.workout_id = summaries.workout_id
        and current_rows.session_id = summaries.session_id
        and current_rows.start_time = summaries.start_time

),

touched as (

    select * from touched_by_readings
    union
    select * from touched_by_profiles
    union
    select * from touched_by_removals

)
{%- endif %}
{% endset %}

{#- On an incremental run, the readings of the touched workouts, read within their span. -#}
{%- set of_touched_workouts = (
    '(bpm.user_id, bpm.workout_id, bpm.session_id, bpm.start_time) in ('
    ~ 'select user_id, workout_id, session_id, start_time from touched) and '
    ~ incremental_range_bound(
        'bpm.start_time', touched_workouts ~ ' select * from touched', 'start_time'
    )
) if is_incremental() else 'true' %}

{{ touched_workouts }},

touched_readings as (

    select *
    from bpm
    where {{ of_touched_workouts }}

),

readings as (

    -- each reading stands for the time since the previous one (the first: since start_time), at
    -- most 10 seconds; of two at one instant (two watches) the second stands for none
    select
        user_id,
        workout_id,
        session_id,
        start_time,
        end_time,
        heartrate,
        ingested_at,
        least(
            unix_micros(measured_at) - unix_micros(coalesce(
                lag(measured_at) over (
                    partition by user_id, workout_id, session_id, start_time
                    order by measured_at, device_id
                ),
                start_time
            )),
            10000000
        ) as micros
    from touched_readings

),

aged as (

    select
        readings.*,
        {{ age_in_years('profiles.dob', 'to_date(readings.start_time)') }} as age
    from readings
    left join profiles
        on readings.user_id = profiles.user_id

),

rated as (

    select
        *,
        208.0D - 0.7D * age as max_hr
    from aged

),

zoned as (

    -- zones of the double-precision ratio heartrate / max_hr (null without an age)
    select
        *,
        case
            when heartrate / max_hr < 0.5D then 0
            when heartrate / max_hr < 0.6D then 1
            when heartrate / max_hr < 0.7D then 2
            when heartrate / max_hr < 0.8D then 3
            when heartrate / max_hr < 0.9D then 4
            when heartrate / max_hr >= 0.9D then 5
        end as zone
    from rated

),

{%- set workout_micros = '(unix_micros(end_time) - unix_micros(start_time))' %}

recomputed as (

    -- no age, no zones: every zone and the impulse are null (a zone without a reading is 0)
    select
        user_id,
        workout_id,
        session_id,
        start_time,
        end_time,
        age,
        max_hr,
        {%- for zone in range(6) %}
        cast(
            cast(
                sum(case when zone = {{ zone }} then micros when zone is not null then 0 end)
                as decimal(20, 0)
            ) / 1000000 as decimal(18, 6)
        ) as seconds_zone_{{ zone }},
        {%- endfor %}
        -- [rule 15](docs/contract.md#rule-15): Edwards' TRIMP, the zones' minutes weighted by zone
        {{ minutes_of_micros('sum(zone * micros)') }} as trimp,
        -- readings per second, half up to 4 places, in integers (exact whatever the duration)
        cast(
            cast(
                (2 * count(*) * 10000000000 + {{ workout_micros }}) div (2 * {{ workout_micros }})
                as decimal(20, 0)
            ) / 10000 as decimal(18, 4)
        ) as coverage,
        max(ingested_at) as ingested_at
    from zoned
    group by 1, 2, 3, 4, 5, 6, 7

)

-- the recomputed workouts and, on an incremental run, the stored ones left with no valid reading
-- (removed by the merge)
{{ removed_rows(
    'touched', 'recomputed',
    keys=['user_id', 'workout_id', 'session_id', 'start_time'],
    grain=['user_id', 'workout_id', 'session_id', 'start_time'],
    columns=['user_id', 'workout_id', 'session_id', 'start_time', 'end_time', 'age', 'max_hr',
             'seconds_zone_0', 'seconds_zone_1', 'seconds_zone_2', 'seconds_zone_3',
             'seconds_zone_4', 'seconds_zone_5', 'trimp', 'coverage', 'ingested_at'],
) }}

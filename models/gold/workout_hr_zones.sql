{#- [Rule 15](docs/contract.md#rule-15): time in each heart-rate zone, training impulse and
    reading coverage per completed workout with a valid reading. Rebuilt each run from
    workout_bpm (the readings within workouts), as workout_bpm_summary is: the ages follow the
    current profiles, and a workout that lost every reading is gone. -#}
{{ config(
    liquid_clustered_by=(['user_id', 'start_time'] if target.type == 'databricks' else none),
) }}

with

bpm as (

    select * from {{ ref('workout_bpm') }}

),

profiles as (

    select
        user_id,
        dob
    from {{ ref('user_profile') }}

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
    from bpm

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

select * from recomputed

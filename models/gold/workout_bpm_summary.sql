with

workout_bpm as (

    select * from {{ ref('workout_bpm') }}

),

profiles as (

    select * from {{ ref('user_profile') }}

),

summaries as (

    select
        user_id,
        workout_id,
        session_id,
        start_time,
        end_time,
        min(heartrate) as min_bpm,
        avg(heartrate) as avg_bpm,
        max(heartrate) as max_bpm,
        count(*) as num_recordings
    from workout_bpm
    group by 1, 2, 3, 4, 5

)

-- [rule 10](docs/contract.md#rule-10): one row per completed workout with a valid reading;
-- demographics from the current profile, the age bin on the UTC date the workout started
select
    summaries.user_id,
    summaries.workout_id,
    summaries.session_id,
    summaries.start_time,
    summaries.end_time,
    {{ age_bin('profiles.dob', 'to_date(summaries.start_time)') }} as age,
    profiles.gender,
    profiles.city,
    profiles.state,
    summaries.min_bpm,
    summaries.avg_bpm,
    summaries.max_bpm,
    summaries.num_recordings
from summaries
left join profiles
    on summaries.user_id = profiles.user_id

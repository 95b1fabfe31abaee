{#- One row per date from the first to the last date any workout, reading or gym visit covers. -#}
with

bounds as (

    select min(day) as first_day, max(day) as last_day
    from (
        select to_date(min(measured_at)) as day from {{ ref('heart_rate') }}
        union all
        select to_date(max(measured_at)) from {{ ref('heart_rate') }}
        union all
        select to_date(min(event_at)) from {{ ref('workouts') }}
        union all
        select to_date(max(event_at)) from {{ ref('workouts') }}
        union all
        select to_date(min(login)) from {{ ref('gym_logs') }}
        union all
        select to_date(max(coalesce(logout, login))) from {{ ref('gym_logs') }}
    ) as days

),

dates as (

    select explode(sequence(first_day, last_day, interval 1 day)) as date
    from bounds
    where first_day is not null

),

parts as (

    select
        date,
        year(date) as year,
        month(date) as month,
        dayofweek(date) as dayofweek,
        dayofmonth(date) as dayofmonth,
        dayofyear(date) as dayofyear,
        -- Sunday-start week number: week 1 holds 1 January, each week begins on a Sunday
        cast(floor(
            (dayofyear(date) + dayofweek(make_date(year(date), 1, 1)) - 2) / 7
        ) as int) + 1 as week
    from dates

)

select
    date,
    week,
    year,
    month,
    dayofweek,
    dayofmonth,
    dayofyear,
    concat(cast(year as string), '-', cast(week as string)) as week_part
from parts

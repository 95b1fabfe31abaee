{#- [Rule 16](docs/contract.md#rule-16): each gym's day, from the closed visits that logged in on
    it. Rebuilt from silver each run, as the other gold tables. -#}
with

visits as (

    select
        gym,
        to_date(login) as date,
        mac_address,
        login,
        logout
    from {{ ref('gym_logs') }}
    where logout is not null

),

moments as (

    -- a visit is inside over [login, logout): at one instant, leaving counts before entering
    select
        gym,
        date,
        login as at,
        1 as change
    from visits
    union all
    select
        gym,
        date,
        logout as at,
        -1 as change
    from visits

),

occupancy as (

    select
        gym,
        date,
        sum(change) over (
            partition by gym, date
            order by at, change
            rows between unbounded preceding and current row
        ) as inside
    from moments

),

peaks as (

    select
        gym,
        date,
        max(inside) as peak_occupancy
    from occupancy
    group by gym, date

),

days as (

    select
        gym,
        date,
        count(*) as visits,
        count(distinct mac_address) as members,
        {{ minutes_of_micros('sum(unix_micros(logout) - unix_micros(login))') }} as minutes_in_gym
    from visits
    group by gym, date

)

select
    days.gym,
    days.date,
    days.visits,
    days.members,
    days.minutes_in_gym,
    peaks.peak_occupancy
from days
inner join peaks
    on days.gym = peaks.gym
    and days.date = peaks.date

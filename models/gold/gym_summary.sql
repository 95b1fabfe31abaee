with

visits as (

    select * from {{ ref('gym_logs') }}
    where logout is not null

),

assignments as (

    select * from {{ ref('device_assignments') }}

),

completed as (

    select * from {{ ref('completed_workouts') }}

),

members as (

    -- [rule 5](docs/contract.md#rule-5) at login: the MAC address's latest registration at or
    -- before the login
    select
        visits.*,
        assignments.user_id
    from visits
    inner join assignments
        on visits.mac_address = assignments.mac_address
        and {{ assigned_at('visits.login', by='mac') }}

)

-- [rule 9](docs/contract.md#rule-9): each closed visit with each completed workout its member
-- started during it
select
    to_date(members.login) as date,
    members.gym,
    members.mac_address,
    members.user_id,
    completed.workout_id,
    completed.session_id,
    {{ minutes_between('members.login', 'members.logout') }} as minutes_in_gym,
    {{ minutes_between('completed.start_time', 'completed.end_time') }} as minutes_exercising,
    members.login,
    completed.start_time
from members
inner join completed
    on members.user_id = completed.user_id
    and completed.start_time >= members.login
    and completed.start_time <= members.logout

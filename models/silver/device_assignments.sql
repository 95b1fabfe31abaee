{{ config(materialized='view') }}

-- [rule 5](docs/contract.md#rule-5): a device (and its MAC address) belongs, at any time, to the
-- user of its latest registration at or before that time; times before its first registration
-- belong to the first.
with

users as (

    {{ with_commit_version(ref('users')) }}

)

select
    user_id,
    device_id,
    mac_address,
    registered_at,
    case
        when row_number() over (partition by device_id order by registered_at) > 1
            then registered_at
    end as device_valid_from,
    lead(registered_at) over (partition by device_id order by registered_at) as device_valid_to,
    case
        when row_number() over (partition by mac_address order by registered_at) > 1
            then registered_at
    end as mac_valid_from,
    lead(registered_at) over (partition by mac_address order by registered_at) as mac_valid_to,
    ingested_at,
    commit_version
from users

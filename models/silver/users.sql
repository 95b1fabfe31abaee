{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['device_id', 'registered_at'],
    post_hook=["{{ enable_row_tracking() }}", "{{ record_consumed_versions() }}"],
) }}

-- [rule 2](docs/contract.md#rule-2): a registration repeated (in one export, in later exports,
-- twice in the database or in both channels) counts once; of rows that disagree on the user or MAC
-- address, the smallest (user_id, mac_address) wins, whichever build met it first
with

new_registrations as (

    select
        user_id,
        device_id,
        mac_address,
        registered_at,
        ingested_at
    from {{ ref('stg_registrations') }}
    where rejection_reason is null
        and {{ commits_since_last_run(
            graph_relation('registration_exports', 'bronze'), where="channel = 'export'"
        ) }}
        and {{ commits_since_last_run(
            graph_relation('registrations', 'bronze'), where="channel = 'database'"
        ) }}

),

candidates as (

    select * from new_registrations

    {% if is_incremental() %}
    -- the rows already built for the keys this batch touches compete with it
    union all

    select
        users.user_id,
        users.device_id,
        users.mac_address,
        users.registered_at,
        users.ingested_at
    from {{ this }} as users
    left semi join new_registrations
        on users.device_id = new_registrations.device_id
        and users.registered_at = new_registrations.registered_at
    {% endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by device_id, registered_at
            order by user_id, mac_address, ingested_at
        ) as position,
        max(ingested_at) over (
            partition by device_id, registered_at
        ) as last_ingested_at
    from candidates

)

select
    user_id,
    device_id,
    mac_address,
    registered_at,
    last_ingested_at as ingested_at
from ranked
where position = 1

{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['device_id', 'registered_at'],
    post_hook=["{{ enable_row_tracking() }}", "{{ record_consumed_versions() }}"],
) }}

with

new_registrations as (

    select
        user_id,
        device_id,
        mac_address,
        registered_at,
        ingested_at,
        -- rule 2: a registration repeated (in a later export, or in both channels) counts once
        row_number() over (
            partition by device_id, registered_at
            order by user_id, mac_address, ingested_at
        ) as position
    from {{ ref('stg_registrations') }}
    where rejection_reason is null
        and {{ commits_since_last_run(
            graph_relation('registration_exports', 'bronze'), where="channel = 'export'"
        ) }}
        and {{ commits_since_last_run(
            graph_relation('registrations', 'bronze'), where="channel = 'database'"
        ) }}

)

select
    user_id,
    device_id,
    mac_address,
    registered_at,
    ingested_at
from new_registrations
where position = 1

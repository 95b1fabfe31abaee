{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['device_id', 'registered_at'],
    post_hook="{{ record_consumed_versions() }}",
    tblproperties={'delta.enableRowTracking': 'true'},
) }}

-- [rule 2](docs/contract.md#rule-2): a registration repeated (in one export, in later exports,
-- twice in the database or in both channels) counts once; of rows that disagree on the user or MAC
-- address, the smallest (user_id, mac_address) wins, whichever build met it first
{% set new_registrations %}
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
{% endset %}

with

-- the rows already built for the keys this batch touches compete with it
candidates as (

    {{ with_stored_rows(
        new_registrations, key=['device_id', 'registered_at'],
        columns=['user_id', 'device_id', 'mac_address', 'registered_at', 'ingested_at'],
    ) }}

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

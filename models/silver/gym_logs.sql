{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['mac_address', 'gym', 'login'],
    post_hook="{{ record_consumed_versions() }}",
) }}

{% set new_events %}
    select
        mac_address,
        gym,
        login,
        logout,
        ingested_at
    from {{ ref('stg_kafka__gym_login') }}
    where rejection_reason is null
        and {{ commits_since_last_run(graph_relation('kafka_records', 'bronze')) }}
{% endset %}

with

new_events as (

    {{ new_events }}

),

candidates as (

    select * from new_events

    {% if is_incremental() %}
    union all

    select
        current_rows.mac_address,
        current_rows.gym,
        current_rows.login,
        current_rows.logout,
        current_rows.ingested_at
    from {{ this }} as current_rows
    left semi join new_events
        on current_rows.mac_address = new_events.mac_address
        and current_rows.gym = new_events.gym
        and current_rows.login = new_events.login
    where {{ merge_bound('login', new_events, 'current_rows') }}
    {% endif %}

)

-- [rule 9](docs/contract.md#rule-9): one row per visit; logout is the largest non-null logout
-- received
select
    mac_address,
    gym,
    login,
    max(logout) as logout,
    max(ingested_at) as ingested_at
from candidates
group by 1, 2, 3
{{ full_build_order(['login']) }}

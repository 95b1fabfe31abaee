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

candidates as (

    {{ with_stored_rows(
        new_events, key=['mac_address', 'gym', 'login'],
        columns=['mac_address', 'gym', 'login', 'logout', 'ingested_at'],
        bound='login',
    ) }}

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

{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='user_id',
    removes_rows=true,
    post_hook="{{ record_consumed_versions() }}",
) }}

with

history as (

    {{ with_commit_version(ref('user_profile_history')) }}

),

touched_users as (

    select distinct user_id
    from history
    where {{ commits_since_last_run(ref('user_profile_history')) }}

),

latest as (

    -- [rule 3](docs/contract.md#rule-3): a user's state is their latest event; a delete removes the
    -- user
    select history.*
    from history
    left semi join touched_users
        on history.user_id = touched_users.user_id
    where history.valid_to is null

)

select
    user_id,
    {%- for column in profile_columns() %}
    {{ column }},
    {%- endfor %}
    valid_from as updated_at,
    {#- a deleted user's stored row is removed by the merge #}
    ingested_at{{ ', is_deleted as is_removed' if is_incremental() }}
from latest
{%- if not is_incremental() %}
where not is_deleted
{%- endif %}

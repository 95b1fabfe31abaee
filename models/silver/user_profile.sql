{#- Rebuilt each run from user_profile_history, which holds one row per profile event: a table
    of the users, not of their readings. -#}

with

history as (

    select * from {{ ref('user_profile_history') }}

)

-- [rule 3](docs/contract.md#rule-3): a user's state is their latest event; a delete removes
-- the user
select
    user_id,
    {%- for column in profile_columns() %}
    {{ column }},
    {%- endfor %}
    valid_from as updated_at,
    ingested_at
from history
where valid_to is null
    and not is_deleted

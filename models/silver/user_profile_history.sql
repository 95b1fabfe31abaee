{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_id', 'valid_from'],
    post_hook="{{ record_consumed_versions() }}",
) }}

{%- set profile_columns = profile_columns() %}

{#- a delete carries no profile: its fields are null whatever the record held -#}
{%- set fields = ['user_id'] %}
{%- for column in profile_columns %}
{%- do fields.append("case when update_type != 'delete' then " ~ column ~ ' end as ' ~ column) %}
{%- endfor %}
{%- set new_events = new_accepted_records(
    ref('stg_kafka__user_info'),
    fields + ['updated_at as valid_from', "update_type = 'delete' as is_deleted"],
) %}

with

-- every accepted event of the users this run touches: a late event takes its place in time
events as (

    {{ with_stored_rows(
        new_events, key=['user_id'],
        columns=['user_id'] + profile_columns + ['valid_from', 'is_deleted', 'record_id',
                 'source_partition', 'source_offset', 'ingested_at'],
    ) }}

),

ordered as (

    -- [rule 3](docs/contract.md#rule-3): order by timestamp, then partition, then offset; of events
    -- sharing a timestamp the last one is the state from that instant; of records sharing
    -- coordinates ([rule 1](docs/contract.md#rule-1)), the greater record_id
    select
        *,
        row_number() over (
            partition by user_id, valid_from
            order by source_partition desc, source_offset desc, record_id desc
        ) as position
    from events

)

select
    user_id,
    {%- for column in profile_columns %}
    {{ column }},
    {%- endfor %}
    valid_from,
    lead(valid_from) over (partition by user_id order by valid_from) as valid_to,
    is_deleted,
    record_id,
    source_partition,
    source_offset,
    ingested_at
from ordered
where position = 1

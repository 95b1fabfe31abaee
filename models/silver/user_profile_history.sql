{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_id', 'valid_from'],
    post_hook=["{{ enable_row_tracking() }}", "{{ record_consumed_versions() }}"],
) }}

{%- set profile_columns = profile_columns() %}

with

new_events as (

    select
        user_id,
        {%- for column in profile_columns %}
        case when update_type != 'delete' then {{ column }} end as {{ column }},
        {%- endfor %}
        updated_at as valid_from,
        update_type = 'delete' as is_deleted,
        record_id,
        `partition` as source_partition,
        `offset` as source_offset,
        ingested_at
    from {{ ref('stg_kafka__user_info') }}
    where rejection_reason is null
        and {{ commits_since_last_run(graph_relation('kafka_records', 'bronze')) }}

),

events as (

    select * from new_events

    {% if is_incremental() %}
    union all

    -- every accepted event of the users this run touches: a late event takes its place in time
    select
        current_rows.user_id,
        {%- for column in profile_columns %}
        current_rows.{{ column }},
        {%- endfor %}
        current_rows.valid_from,
        current_rows.is_deleted,
        current_rows.record_id,
        current_rows.source_partition,
        current_rows.source_offset,
        current_rows.ingested_at
    from {{ this }} as current_rows
    left semi join new_events
        on current_rows.user_id = new_events.user_id
    {% endif %}

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

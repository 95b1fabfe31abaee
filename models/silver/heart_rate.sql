{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['device_id', 'measured_at'],
    post_hook=["{{ enable_row_tracking() }}", "{{ record_consumed_versions() }}"],
    liquid_clustered_by=(['device_id', 'measured_at'] if target.type == 'databricks' else none),
) }}

{% set new_readings %}
    select
        device_id,
        measured_at,
        heartrate,
        record_id,
        `partition` as source_partition,
        `offset` as source_offset,
        ingested_at
    from {{ ref('stg_kafka__bpm') }}
    where rejection_reason is null
        and {{ commits_since_last_run(graph_relation('kafka_records', 'bronze')) }}
{% endset %}

with

new_readings as (

    {{ new_readings }}

),

candidates as (

    select * from new_readings

    {% if is_incremental() %}
    union all

    select
        current_rows.device_id,
        current_rows.measured_at,
        current_rows.heartrate,
        current_rows.record_id,
        current_rows.source_partition,
        current_rows.source_offset,
        current_rows.ingested_at
    from {{ this }} as current_rows
    left semi join new_readings
        on current_rows.device_id = new_readings.device_id
        and current_rows.measured_at = new_readings.measured_at
    where {{ merge_bound('measured_at', new_readings, 'current_rows') }}
    {% endif %}

),

latest as (

    -- [rule 4](docs/contract.md#rule-4): the later (partition, offset) of one (device_id,
    -- measured_at) wins; of records sharing coordinates ([rule 1](docs/contract.md#rule-1)), the
    -- greater record_id
    select
        *,
        row_number() over (
            partition by device_id, measured_at
            order by source_partition desc, source_offset desc, record_id desc
        ) as position
    from candidates

)

select
    device_id,
    measured_at,
    heartrate,
    coalesce(
        heartrate > {{ var('heartrate_min') }} and heartrate <= {{ var('heartrate_max') }},
        false
    ) as is_valid,
    record_id,
    source_partition,
    source_offset,
    ingested_at
from latest
where position = 1
{{ full_build_order(['measured_at']) }}

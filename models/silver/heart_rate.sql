{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['device_id', 'measured_at'],
    post_hook="{{ record_consumed_versions() }}",
    tblproperties={'delta.enableRowTracking': 'true'},
    liquid_clustered_by=(['device_id', 'measured_at'] if target.type == 'databricks' else none),
) }}

{%- set new_readings = new_accepted_records(
    ref('stg_kafka__bpm'), ['device_id', 'measured_at', 'heartrate']
) %}

with

candidates as (

    {{ with_stored_rows(
        new_readings, key=['device_id', 'measured_at'],
        columns=['device_id', 'measured_at', 'heartrate', 'record_id', 'source_partition',
                 'source_offset', 'ingested_at'],
        bound='measured_at',
    ) }}

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

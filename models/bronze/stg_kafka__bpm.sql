with

source as (

    {{ kafka_topic('bpm') }}

),

renamed as (

    select
        ---------- record
        {{ kafka_record_columns() }}

        ---------- reading
        try_variant_get(payload, '$.device_id', 'bigint') as device_id,
        {{ json_epoch('payload', 'time') }} as measured_at,
        try_variant_get(payload, '$.heartrate', 'double') as heartrate,

        ---------- quality
        {{ json_rejection_reason('payload', [
            ['device_id', 'integer', true],
            ['time', 'epoch', true],
            ['heartrate', 'number', false],
        ]) }} as rejection_reason

    from source

)

select * from renamed

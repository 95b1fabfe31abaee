with

source as (

    {{ kafka_topic('workout') }}

),

renamed as (

    select
        ---------- record
        {{ kafka_record_columns() }}

        ---------- event
        try_variant_get(payload, '$.user_id', 'bigint') as user_id,
        try_variant_get(payload, '$.workout_id', 'bigint') as workout_id,
        try_variant_get(payload, '$.session_id', 'bigint') as session_id,
        try_variant_get(payload, '$.action', 'string') as action,
        {{ json_epoch('payload', 'timestamp') }} as event_at,

        ---------- quality
        {{ json_rejection_reason('payload', [
            ['user_id', 'integer', true],
            ['workout_id', 'integer', true],
            ['session_id', 'integer', true],
            ['action', 'string', true],
            ['timestamp', 'epoch', true],
        ], [
            ["try_variant_get(payload, '$.action', 'string') not in ('start', 'stop')",
             "concat('unknown action ', try_variant_get(payload, '$.action', 'string'))"],
        ]) }} as rejection_reason

    from source

)

select * from renamed

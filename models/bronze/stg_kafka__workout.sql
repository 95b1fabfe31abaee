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
        coalesce(
            {{ json_rejection_reason('payload', [
                ['user_id', 'integer', true],
                ['workout_id', 'integer', true],
                ['session_id', 'integer', true],
                ['action', 'string', true],
                ['timestamp', 'epoch', true],
            ]) }},
            case
                when try_variant_get(payload, '$.action', 'string') not in ('start', 'stop')
                    then 'unknown action'
            end
        ) as rejection_reason

    from source

)

select * from renamed

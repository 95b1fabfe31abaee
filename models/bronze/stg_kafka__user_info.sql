with

source as (

    {{ kafka_topic('user_info') }}

),

renamed as (

    select
        ---------- record
        {{ kafka_record_columns() }}

        ---------- change
        try_variant_get(payload, '$.user_id', 'bigint') as user_id,
        try_variant_get(payload, '$.update_type', 'string') as update_type,
        {{ json_epoch('payload', 'timestamp') }} as updated_at,

        ---------- profile image
        try_variant_get(payload, '$.first_name', 'string') as first_name,
        try_variant_get(payload, '$.last_name', 'string') as last_name,
        cast(
            try_to_timestamp(try_variant_get(payload, '$.dob', 'string'), 'MM/dd/yyyy') as date
        ) as dob,
        try_variant_get(payload, '$.sex', 'string') as sex,
        try_variant_get(payload, '$.gender', 'string') as gender,
        try_variant_get(payload, '$.address.street_address', 'string') as street_address,
        try_variant_get(payload, '$.address.city', 'string') as city,
        try_variant_get(payload, '$.address.state', 'string') as state,
        try_variant_get(payload, '$.address.zip', 'string') as zip,

        ---------- quality
        coalesce(
            {{ json_rejection_reason('payload', [
                ['user_id', 'integer', true],
                ['update_type', 'string', true],
                ['timestamp', 'epoch', true],
                ['dob', 'string', false],
                ['first_name', 'string', false],
                ['last_name', 'string', false],
                ['sex', 'string', false],
                ['gender', 'string', false],
                ['address', 'object', false],
                ['address.street_address', 'string', false],
                ['address.city', 'string', false],
                ['address.state', 'string', false],
                ['address.zip', 'string_or_integer', false],
            ]) }},
            case
                -- a reason names the field and the problem, never the value (it may be personal)
                when try_variant_get(payload, '$.update_type', 'string')
                    not in ('new', 'update', 'delete')
                    then 'unknown update_type'
                when try_variant_get(payload, '$.dob', 'string') is not null
                    and try_to_timestamp(
                        try_variant_get(payload, '$.dob', 'string'), 'MM/dd/yyyy'
                    ) is null
                    then 'dob is not a MM/dd/yyyy date'
            end
        ) as rejection_reason

    from source

)

select * from renamed

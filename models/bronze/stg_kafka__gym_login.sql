with

source as (

    {{ kafka_topic('gym_login') }}

),

renamed as (

    select
        ---------- record
        {{ kafka_record_columns() }}

        ---------- visit
        lower(trim(try_variant_get(payload, '$.mac_address', 'string'))) as mac_address,
        try_variant_get(payload, '$.gym', 'bigint') as gym,
        {{ json_epoch('payload', 'login') }} as login,
        {{ json_epoch('payload', 'logout') }} as logout,

        ---------- quality
        {{ json_rejection_reason('payload', [
            ['mac_address', 'string', true],
            ['gym', 'integer', true],
            ['login', 'epoch', true],
            ['logout', 'epoch', false],
        ]) }} as rejection_reason

    from source

)

select * from renamed

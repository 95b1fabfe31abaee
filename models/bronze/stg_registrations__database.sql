{#- The database channel of registrations: one row per extracted table row, checked. -#}
with

extracted as (

    {{ with_commit_version(source('bronze', 'registrations')) }}

),

loaded as (

    select
        ---------- record
        -- bronze keeps each distinct row once: its raw text identifies it
        case
            when raw is not null then concat('db:', source_table, '#', sha2(raw, 256))
            else concat(
                    'db:', source_table, '#', cast(user_id as string), '/',
                    cast(device_id as string), '/', mac_address, '/',
                    cast(unix_micros(registration_timestamp) as string)
                )
        end as record_id,
        'database' as channel,
        coalesce(
            raw,
            concat_ws(
                ',', cast(user_id as string), cast(device_id as string), mac_address,
                cast(registration_timestamp as string)
            )
        ) as value,
        ingested_at,
        commit_version,

        ---------- registration
        user_id,
        device_id,
        lower(trim(mac_address)) as mac_address,
        registration_timestamp as registered_at,

        ---------- quality
        -- a typed column is null when the value was null or did not convert: the raw row
        -- (JSON, null where the database had NULL) tells which
        case
            when user_id is null and get_json_object(raw, '$.user_id') is not null
                then 'user_id is not an integer'
            when user_id is null then 'user_id is null'
            when device_id is null and get_json_object(raw, '$.device_id') is not null
                then 'device_id is not an integer'
            when device_id is null then 'device_id is null'
            when mac_address is null then 'mac_address is null'
            when not {{ is_mac_address('mac_address') }}
                then 'mac_address is not a MAC address'
            when
                registration_timestamp is null
                and get_json_object(raw, '$.registration_timestamp') is not null
                then 'registration_timestamp is not a timestamp'
            when registration_timestamp is null then 'registration_timestamp is null'
        end as rejection_reason

    from extracted

)

select * from loaded

with

exports as (

    select
        *,
        {{ row_commit_version() }} as commit_version
    from {{ source('bronze', 'registration_exports') }}

),

extracted as (

    select
        *,
        {{ row_commit_version() }} as commit_version
    from {{ source('bronze', 'registrations') }}

),

exported as (

    select
        ---------- record
        concat(
            'file:', source_file, '#',
            sha2(concat_ws(',', user_id, device_id, mac_address, registration_timestamp), 256)
        ) as record_id,
        'export' as channel,
        concat_ws(',', user_id, device_id, mac_address, registration_timestamp) as value,
        ingested_at,
        commit_version,

        ---------- registration
        case when trim(user_id) rlike '^[0-9]+$' then try_cast(trim(user_id) as bigint) end
            as user_id,
        case when trim(device_id) rlike '^[0-9]+$' then try_cast(trim(device_id) as bigint) end
            as device_id,
        lower(trim(mac_address)) as mac_address,
        case
            when trim(registration_timestamp) rlike '^[0-9]+([.][0-9]+)?$'
                then {{ epoch_to_timestamp('trim(registration_timestamp)') }}
        end as registered_at,

        ---------- quality
        case
            when not coalesce(
                    trim(user_id) rlike '^[0-9]+$'
                    and try_cast(trim(user_id) as bigint) is not null,
                    false
                )
                then 'user_id is not an integer'
            when not coalesce(
                    trim(device_id) rlike '^[0-9]+$'
                    and try_cast(trim(device_id) as bigint) is not null,
                    false
                )
                then 'device_id is not an integer'
            when not coalesce(
                    lower(trim(mac_address)) rlike '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$',
                    false
                )
                then 'mac_address is not a MAC address'
            when not coalesce(trim(registration_timestamp) rlike '^[0-9]+([.][0-9]+)?$', false)
                then 'registration_timestamp is not epoch seconds'
        end as rejection_reason

    from exports

),

loaded as (

    select
        ---------- record
        concat(
            'db:', source_table, '#', cast(user_id as string), '/', cast(device_id as string), '/',
            mac_address, '/', cast(unix_micros(registration_timestamp) as string)
        ) as record_id,
        'database' as channel,
        concat_ws(
            ',', cast(user_id as string), cast(device_id as string), mac_address,
            cast(registration_timestamp as string)
        ) as value,
        ingested_at,
        commit_version,

        ---------- registration
        user_id,
        device_id,
        lower(trim(mac_address)) as mac_address,
        registration_timestamp as registered_at,

        ---------- quality
        case
            when user_id is null or device_id is null or mac_address is null
                or registration_timestamp is null
                then 'missing field'
        end as rejection_reason

    from extracted

)

select * from exported
union all
select * from loaded

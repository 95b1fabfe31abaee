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

exports_checked as (

    select
        *,
        -- contract columns the file's header does not name (none for rows landed before
        -- bronze kept the header)
        filter(
            array('user_id', 'device_id', 'mac_address', 'registration_timestamp'),
            c -> not array_contains(header_columns, c)
        ) as missing_columns
    from exports

),

exported as (

    select
        ---------- record
        -- one per exported line (file and line number); rows landed before bronze kept the
        -- line number are keyed by their content
        case
            when line_number is not null
                then concat('file:', source_file, '#', cast(line_number as string))
            else concat(
                    'file:', source_file, '#',
                    sha2(
                        concat_ws(
                            ',', user_id, device_id, mac_address, registration_timestamp
                        ),
                        256
                    )
                )
        end as record_id,
        'export' as channel,
        coalesce(
            raw,
            concat_ws(',', user_id, device_id, mac_address, registration_timestamp)
        ) as value,
        ingested_at,
        commit_version,

        ---------- registration
        case
            when trim(user_id) rlike '^[0-9]+$'
                then try_cast(trim(user_id) as bigint)
        end as user_id,
        case
            when trim(device_id) rlike '^[0-9]+$'
                then try_cast(trim(device_id) as bigint)
        end as device_id,
        lower(trim(mac_address)) as mac_address,
        case
            when trim(registration_timestamp) rlike '^[0-9]+([.][0-9]+)?$'
                then {{ epoch_to_timestamp('trim(registration_timestamp)') }}
        end as registered_at,

        ---------- quality
        -- the file's header, then the row's shape, then each field
        case
            when size(missing_columns) = 1
                then concat('header lacks column ', missing_columns[0])
            when size(missing_columns) > 1
                then concat('header lacks columns ', array_join(missing_columns, ', '))
            when field_count != size(header_columns)
                then concat(
                        'row has ', cast(field_count as string), ' fields, the header has ',
                        cast(size(header_columns) as string)
                    )
            when coalesce(trim(user_id), '') = '' then 'user_id is empty'
            when not coalesce(
                    trim(user_id) rlike '^[0-9]+$'
                    and try_cast(trim(user_id) as bigint) is not null,
                    false
                )
                then 'user_id is not an integer'
            when coalesce(trim(device_id), '') = '' then 'device_id is empty'
            when not coalesce(
                    trim(device_id) rlike '^[0-9]+$'
                    and try_cast(trim(device_id) as bigint) is not null,
                    false
                )
                then 'device_id is not an integer'
            when coalesce(trim(mac_address), '') = '' then 'mac_address is empty'
            when not coalesce(
                    lower(trim(mac_address)) rlike '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$',
                    false
                )
                then 'mac_address is not a MAC address'
            when coalesce(trim(registration_timestamp), '') = ''
                then 'registration_timestamp is empty'
            when not coalesce(
                    trim(registration_timestamp) rlike '^[0-9]+([.][0-9]+)?$', false
                )
                then 'registration_timestamp is not epoch seconds'
            when {{ epoch_to_timestamp('trim(registration_timestamp)') }} is null
                then 'registration_timestamp is out of range'
        end as rejection_reason

    from exports_checked

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
            when not coalesce(
                    lower(trim(mac_address)) rlike '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$',
                    false
                )
                then 'mac_address is not a MAC address'
            when
                registration_timestamp is null
                and get_json_object(raw, '$.registration_timestamp') is not null
                then 'registration_timestamp is not a timestamp'
            when registration_timestamp is null then 'registration_timestamp is null'
        end as rejection_reason

    from extracted

)

select * from exported
union all
select * from loaded

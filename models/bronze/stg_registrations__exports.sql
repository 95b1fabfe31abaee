{#- The export channel of registrations: one row per landed CSV line, typed and checked. -#}
with

exports as (

    {{ with_commit_version(source('bronze', 'registration_exports')) }}

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
        {{ unsigned_integer_text('user_id') }} as user_id,
        {{ unsigned_integer_text('device_id') }} as device_id,
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
            when {{ unsigned_integer_text('user_id') }} is null then 'user_id is not an integer'
            when coalesce(trim(device_id), '') = '' then 'device_id is empty'
            when {{ unsigned_integer_text('device_id') }} is null then 'device_id is not an integer'
            when coalesce(trim(mac_address), '') = '' then 'mac_address is empty'
            when not {{ is_mac_address('mac_address') }}
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

)

select * from exported

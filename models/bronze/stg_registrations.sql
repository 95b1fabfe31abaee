{#- Registrations from both channels in one relation: each channel's staging view names the
    same columns, united by name. -#}
{%- set columns = [
    'record_id', 'channel', 'value', 'ingested_at', 'commit_version',
    'user_id', 'device_id', 'mac_address', 'registered_at', 'rejection_reason'
] %}

select {{ columns | join(', ') }} from {{ ref('stg_registrations__exports') }}
union all
select {{ columns | join(', ') }} from {{ ref('stg_registrations__database') }}

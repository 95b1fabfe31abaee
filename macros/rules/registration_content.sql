{#- A registration's content, as the record ledger compares it: the SHA-256 of its user, device,
    MAC address and time (microseconds). -#}
{% macro registration_content(user_id, device_id, mac_address, registered_at) -%}
    sha2(concat_ws(
        '/', cast({{ user_id }} as string), cast({{ device_id }} as string), {{ mac_address }},
        cast(unix_micros({{ registered_at }}) as string)
    ), 256)
{%- endmacro %}

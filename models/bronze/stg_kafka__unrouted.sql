{#- Bronze Kafka records no contract topic claims: landing lines that are not Kafka envelopes, and
    records of unknown topics. They exist only to be reported in silver.rejected_events. -#}
with

source as (

    select * from {{ ref('stg_kafka__records') }}

),

renamed as (

    select
        record_id,
        topic,
        `partition`,
        `offset`,
        coalesce(value, raw) as value,
        source as record_source,
        ingested_at,
        commit_version,
        case
            when topic is not null then concat('unknown topic ', topic)
            when not is_valid_utf8(raw) then 'not valid UTF-8'
            when get_json_object(raw, '$') is null then 'not a Kafka record: not JSON'
            when get_json_object(raw, '$.topic') is null
                then 'not a Kafka record: no topic'
            when get_json_object(raw, '$.partition') is null
                then 'not a Kafka record: no partition'
            when get_json_object(raw, '$.offset') is null
                then 'not a Kafka record: no offset'
            when not coalesce(
                    trim(get_json_object(raw, '$.partition')) rlike '^-?[0-9]+$'
                    and try_cast(trim(get_json_object(raw, '$.partition')) as int) is not null,
                    false
                )
                then 'not a Kafka record: partition is not an int'
            else 'not a Kafka record: offset is not a bigint'
        end as rejection_reason

    from source

    where topic is null
        or topic not in (
            {%- for name in topic_names().values() %}
            '{{ name }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )

)

select * from renamed

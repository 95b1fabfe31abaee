{#- Bronze Kafka records no contract topic claims: landing lines that are not Kafka envelopes, and
    records of unknown topics. They exist only to be reported in silver.rejected_events. -#}
with

source as (

    select
        *,
        {{ row_commit_version() }} as commit_version
    from {{ source('bronze', 'kafka_records') }}

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
            when topic is null then 'not a Kafka record'
            else concat('unknown topic ', topic)
        end as rejection_reason

    from source

    where topic is null
        or topic not in (
            {%- for name in var('topics').values() %}
            '{{ name }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )

)

select * from renamed

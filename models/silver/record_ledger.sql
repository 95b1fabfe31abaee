{#- Rule 14: every bronze record in exactly one disposition. Built in full from bronze and the
    silver tables each run, so it proves what silver holds now: bronze as far as every silver
    model that reads it has read it (records committed since wait for the next build). -#}
{%- set kafka_readers = [
    'heart_rate', 'workouts', 'gym_logs', 'user_profile_history', 'rejected_events',
] %}
{%- set registration_readers = ['users', 'rejected_events'] %}
with

kafka_records as (

    select
        *,
        {{ row_commit_version() }} as commit_version
    from {{ source('bronze', 'kafka_records') }}

),

registrations as (

    select * from {{ ref('stg_registrations') }}

),

read_kafka_records as (

    select * from kafka_records
    where {{ consumed_by_all(graph_relation('kafka_records', 'bronze'), kafka_readers) }}

),

read_registrations as (

    select * from registrations
    where (
        channel = 'export'
        and {{ consumed_by_all(
            graph_relation('registration_exports', 'bronze'), registration_readers
        ) }}
    )
    or (
        channel = 'database'
        and {{ consumed_by_all(graph_relation('registrations', 'bronze'), registration_readers) }}
    )

),

records as (

    -- `content` tells a duplicate (the same content as the record kept) from a superseded
    -- record: a Kafka record's content hash (the last part of its identity, rule 1), a
    -- registration's fields
    select
        record_id,
        source,
        topic,
        `partition`,
        `offset`,
        key,
        value,
        substring_index(record_id, '/', -1) as content,
        kafka_timestamp,
        raw,
        ingested_at
    from read_kafka_records

    union all

    select
        record_id,
        channel as source,
        cast(null as string) as topic,
        cast(null as int) as `partition`,
        cast(null as bigint) as `offset`,
        cast(null as string) as key,
        value,
        concat_ws(
            '/', cast(user_id as string), cast(device_id as string), mac_address,
            cast(unix_micros(registered_at) as string)
        ) as content,
        cast(null as timestamp) as kafka_timestamp,
        cast(null as string) as raw,
        ingested_at
    from read_registrations

),

rejected as (

    select record_id, reason from {{ ref('rejected_events') }}

),

---------- the record silver keeps for each record's key (rules 2, 3, 4, 6, 9)

kept_by_key as (

    -- noqa: disable=LT02
    {% for staging, silver, keys in [
        ('stg_kafka__bpm', 'heart_rate', [
            ['device_id', 'device_id'], ['measured_at', 'measured_at'],
        ]),
        ('stg_kafka__user_info', 'user_profile_history', [
            ['user_id', 'user_id'], ['updated_at', 'valid_from'],
        ]),
        ('stg_kafka__workout', 'workouts', [
            ['user_id', 'user_id'], ['workout_id', 'workout_id'],
            ['session_id', 'session_id'], ['action', 'action'], ['event_at', 'event_at'],
        ]),
    ] %}
    select events.record_id, kept.record_id as kept_id, '{{ silver }}' as silver_table
    from {{ ref(staging) }} as events
    inner join {{ ref(silver) }} as kept
        on {% for event_column, kept_column in keys -%}
        {{ 'and ' if not loop.first }}events.{{ event_column }} = kept.{{ kept_column }}
        {% endfor -%}
    where events.rejection_reason is null
    {{ 'union all' if not loop.last }}
    {% endfor %}
    -- noqa: enable=LT02

),

visit_events as (

    -- every scan of a visit counts toward it (logout: the largest received); of byte-identical
    -- scans (rule 2) the first by (partition, offset) is kept
    select
        scans.record_id,
        first_value(scans.record_id) over (
            partition by records.topic, records.key, records.value
            order by records.`partition`, records.`offset`, records.record_id
        ) as kept_id,
        'gym_logs' as silver_table
    from {{ ref('stg_kafka__gym_login') }} as scans
    inner join records
        on scans.record_id = records.record_id
    left semi join {{ ref('gym_logs') }} as gym_logs
        on scans.mac_address = gym_logs.mac_address
        and scans.gym = gym_logs.gym
        and scans.login = gym_logs.login
    where scans.rejection_reason is null

),

kept_registrations as (

    -- rule 2: a registration repeated counts once; the row silver kept is the first (by
    -- record_id) of those equal to the users row of its (device_id, registered_at)
    select
        regs.record_id,
        min(
            case
                when regs.user_id = users.user_id and regs.mac_address = users.mac_address
                    then regs.record_id
            end
        ) over (partition by regs.device_id, regs.registered_at) as kept_id,
        'users' as silver_table
    from registrations as regs
    inner join {{ ref('users') }} as users
        on regs.device_id = users.device_id
        and regs.registered_at = users.registered_at
    where regs.rejection_reason is null

),

kept as (

    select * from kept_by_key
    union all
    select * from kept_registrations
    union all
    select * from visit_events

),

coordinates as (

    select topic, `partition`, `offset`, count(*) > 1 as is_coordinate_conflict
    from records
    where topic is not null
    group by 1, 2, 3

),

disposed as (

    select
        records.record_id,
        records.source,
        records.topic,
        records.`partition`,
        records.`offset`,
        records.ingested_at,
        case
            when rejected.record_id is not null then 'rejected'
            when kept.kept_id = records.record_id then 'accepted'
            when kept.kept_id is null then null
            when kept_records.content = records.content then 'duplicate'
            when kept.silver_table = 'workouts' then 'duplicate'
            else 'superseded'
        end as disposition,
        case when rejected.record_id is null then kept.silver_table end as silver_table,
        rejected.reason,
        case
            when rejected.record_id is null and kept.kept_id != records.record_id
                then kept.kept_id
        end as kept_record_id,
        coalesce(coordinates.is_coordinate_conflict, false) as is_coordinate_conflict,
        coalesce(
            records.topic is not null
            and records.kafka_timestamp is null
            and get_json_object(records.raw, '$.timestamp') is not null,
            false
        ) as has_unreadable_kafka_time
    from records
    left join rejected
        on records.record_id = rejected.record_id
    left join kept
        on records.record_id = kept.record_id
    left join records as kept_records
        on kept.kept_id = kept_records.record_id
    left join coordinates
        on records.topic = coordinates.topic
        and records.`partition` = coordinates.`partition`
        and records.`offset` = coordinates.`offset`

)

select * from disposed

{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='record_id',
    post_hook="{{ record_consumed_versions() }}",
) }}

{#- [Rule 14](docs/contract.md#rule-14): every bronze record in exactly one disposition. Each run
    disposes of the bronze records committed since the last one, as far as every silver model that
    reads bronze has read it (records committed since wait for the next build), and disposes again
    of the records the ledger holds that compete with them: the same silver key (a later state may
    supersede an accepted one) or the same coordinates (a conflict). The cost follows the new
    records and the keys they touch, not the ledger's size. -#}
{%- set kafka_readers = [
    'heart_rate', 'workouts', 'gym_logs', 'user_profile_history', 'rejected_events',
] %}
{%- set registration_readers = ['users', 'rejected_events'] %}
{%- set kafka_table = graph_relation('kafka_records', 'bronze') %}
{%- set exports_table = graph_relation('registration_exports', 'bronze') %}
{%- set extracts_table = graph_relation('registrations', 'bronze') %}
{%- set new_kafka = commits_since_last_run(
    kafka_table, up_to=consumed_by_all(kafka_table, kafka_readers)
) %}
{%- set new_registrations -%}
    {{ commits_since_last_run(
        exports_table, where="channel = 'export'",
        up_to=consumed_by_all(exports_table, registration_readers),
    ) }}
    and {{ commits_since_last_run(
        extracts_table, where="channel = 'database'",
        up_to=consumed_by_all(extracts_table, registration_readers),
    ) }}
{%- endset %}
with

---------- the records committed since the last run

new_records as (

    -- `content` tells a duplicate (the same content as the record kept) from a superseded
    -- record: a Kafka record's content hash (the last part of its identity,
    -- [rule 1](docs/contract.md#rule-1)), a hash of a registration's fields
    select
        record_id,
        source,
        topic,
        `partition`,
        `offset`,
        substring_index(record_id, '/', -1) as content,
        coalesce(
            topic is not null
            and kafka_timestamp is null
            and get_json_object(raw, '$.timestamp') is not null,
            false
        ) as has_unreadable_kafka_time,
        ingested_at
    from {{ ref('stg_kafka__records') }}
    where {{ new_kafka }}

    union all

    select
        record_id,
        channel as source,
        cast(null as string) as topic,
        cast(null as int) as `partition`,
        cast(null as bigint) as `offset`,
        {{ registration_content('user_id', 'device_id', 'mac_address', 'registered_at') }}
            as content,
        false as has_unreadable_kafka_time,
        ingested_at
    from {{ ref('stg_registrations') }}
    where {{ new_registrations }}

),

---------- the silver key each new record competes for
-- ([rule 2](docs/contract.md#rule-2), [rule 3](docs/contract.md#rule-3),
-- [rule 4](docs/contract.md#rule-4), [rule 6](docs/contract.md#rule-6),
-- [rule 9](docs/contract.md#rule-9))

new_keys as (

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
    -- silver's row for the key is the record kept
    select
        events.record_id,
        '{{ silver }}' as silver_table,
        {{ silver_key(keys | map('first') | list, 'events.') }} as silver_key,
        kept.record_id as kept_id,
        substring_index(kept.record_id, '/', -1) as kept_content
    from (
        select * from {{ ref(staging) }}
        where rejection_reason is null and {{ new_kafka }}
    ) as events
    inner join {{ ref(silver) }} as kept
        on {% for event_column, kept_column in keys -%}
        {{ 'and ' if not loop.first }}events.{{ event_column }} = kept.{{ kept_column }}
        {% endfor %}

    union all
    {% endfor %}
    -- noqa: enable=LT02

    -- every scan of a visit counts toward it (logout: the largest received); byte-identical
    -- scans ([rule 2](docs/contract.md#rule-2)) share a key, their content
    select
        scans.record_id,
        'gym_logs' as silver_table,
        substring_index(scans.record_id, '/', -1) as silver_key,
        cast(null as string) as kept_id,
        cast(null as string) as kept_content
    from (
        select * from {{ ref('stg_kafka__gym_login') }}
        where rejection_reason is null and {{ new_kafka }}
    ) as scans
    left semi join {{ ref('gym_logs') }} as gym_logs
        on scans.mac_address = gym_logs.mac_address
        and scans.gym = gym_logs.gym
        and scans.login = gym_logs.login

    union all

    -- [rule 2](docs/contract.md#rule-2): a registration repeated counts once; the users row of its
    -- key says which
    select
        regs.record_id,
        'users' as silver_table,
        {{ silver_key(['regs.device_id', 'regs.registered_at']) }} as silver_key,
        cast(null as string) as kept_id,
        {{ registration_content(
            'users.user_id', 'users.device_id', 'users.mac_address', 'users.registered_at'
        ) }} as kept_content
    from (
        select * from {{ ref('stg_registrations') }}
        where rejection_reason is null and {{ new_registrations }}
    ) as regs
    inner join {{ ref('users') }} as users
        on regs.device_id = users.device_id
        and regs.registered_at = users.registered_at

),

touched_keys as (

    select distinct silver_table, silver_key from new_keys

),

touched_coordinates as (

    select distinct topic, `partition`, `offset`
    from new_records
    where topic is not null

),

---------- the records to dispose of: the new ones, and the stored ones competing with them

records as (

    select
        new_records.*,
        new_keys.silver_table,
        new_keys.silver_key,
        new_keys.kept_id as silver_kept_id,
        new_keys.kept_content as silver_kept_content,
        false as is_stored,
        cast(null as string) as stored_disposition,
        cast(null as string) as stored_reason,
        cast(null as string) as stored_kept_record_id
    from new_records
    left join new_keys
        on new_records.record_id = new_keys.record_id

    {% if is_incremental() %}
    union all

    select
        stored.record_id,
        stored.source,
        stored.topic,
        stored.`partition`,
        stored.`offset`,
        stored.content,
        stored.has_unreadable_kafka_time,
        stored.ingested_at,
        stored.silver_table,
        stored.silver_key,
        cast(null as string) as silver_kept_id,
        cast(null as string) as silver_kept_content,
        true as is_stored,
        stored.disposition as stored_disposition,
        stored.reason as stored_reason,
        stored.kept_record_id as stored_kept_record_id
    from {{ this }} as stored
    left anti join new_records
        on stored.record_id = new_records.record_id
    where (
        exists (
            select 1 from touched_keys
            where stored.silver_table = touched_keys.silver_table
                and stored.silver_key = touched_keys.silver_key
        )
        or exists (
            select 1 from touched_coordinates
            where stored.topic = touched_coordinates.topic
                and stored.`partition` = touched_coordinates.`partition`
                and stored.`offset` = touched_coordinates.`offset`
        )
    )
    {% endif %}

),

---------- the record silver keeps for each touched key, and the records sharing coordinates
-- (windows over the records, which are read once)

keyed as (

    select
        *,
        -- heart_rate, user_profile_history and workouts: silver's row for the key; users: the
        -- content of its row
        max(silver_kept_id) over by_key as key_kept_id,
        max(silver_kept_content) over by_key as key_kept_content,
        -- a visit's byte-identical scans: the first by (partition, offset) is kept
        min_by(record_id, struct(`partition`, `offset`, record_id)) over by_key as first_scan_id,
        -- more than one record at the coordinates ([rule 1](docs/contract.md#rule-1))
        topic is not null
        and min(record_id) over by_coordinates != max(record_id) over by_coordinates
            as is_coordinate_conflict
    from records
    window
        by_key as (partition by silver_table, silver_key),
        by_coordinates as (partition by topic, `partition`, `offset`)

),

disposed as (

    select
        keyed.*,
        rejected.record_id is not null as is_rejected,
        rejected.reason,
        coalesce(
            keyed.silver_table = 'gym_logs' or keyed.key_kept_content is not null, false
        ) as is_key_touched,
        case
            when keyed.silver_table = 'gym_logs' then keyed.first_scan_id
            -- a registration's rows equal to its users row: the first (by record_id) is kept
            when keyed.silver_table = 'users'
                then min(
                        case when keyed.content = keyed.key_kept_content then keyed.record_id end
                    ) over by_key
            else keyed.key_kept_id
        end as kept_id,
        case
            when keyed.silver_table = 'gym_logs' then keyed.silver_key
            else keyed.key_kept_content
        end as kept_content
    from keyed
    left join {{ ref('rejected_events') }} as rejected
        on keyed.record_id = rejected.record_id
    window by_key as (partition by keyed.silver_table, keyed.silver_key)

),

decided as (

    -- a stored record only its coordinates touch keeps its disposition
    select
        *,
        is_stored and not is_key_touched as keeps_disposition,
        case
            when is_rejected then 'rejected'
            when kept_id = record_id then 'accepted'
            when kept_id is null then null
            when kept_content = content then 'duplicate'
            when silver_table = 'workouts' then 'duplicate'
            else 'superseded'
        end as disposition
    from disposed

)

select
    record_id,
    source,
    topic,
    `partition`,
    `offset`,
    ingested_at,
    case when keeps_disposition then stored_disposition else disposition end as disposition,
    case when not is_rejected then silver_table end as silver_table,
    case when keeps_disposition then stored_reason else reason end as reason,
    case
        when keeps_disposition then stored_kept_record_id
        when not is_rejected and kept_id != record_id then kept_id
    end as kept_record_id,
    is_coordinate_conflict,
    has_unreadable_kafka_time,
    silver_key,
    content
from decided

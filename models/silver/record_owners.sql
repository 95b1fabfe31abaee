{{ config(materialized='view') }}

{#- Whose each bronze record is, by the rules silver applies: a profile event or a workout names
    its user; a reading or a gym visit is the user's whose device or MAC address it was at its
    time ([rule 5](docs/contract.md#rule-5), as device_assignments states it); a registration
    is the user's it registers. A record none of these attributes (not JSON, an unknown topic, a
    line that is not a Kafka envelope, a reading or visit with no readable time) is the user's
    whose id its text names, and every user's who held the device or MAC address its text names.
    Erasure removes a user's records by this view. -#}
with

assignments as (

    select * from {{ ref('device_assignments') }}

),

named as (

    select record_id, user_id from {{ ref('stg_kafka__user_info') }}
    union all
    select record_id, user_id from {{ ref('stg_kafka__workout') }}

),

readings as (

    select
        readings.record_id,
        assignments.user_id
    from {{ ref('stg_kafka__bpm') }} as readings
    inner join assignments
        on readings.device_id = assignments.device_id
        and {{ assigned_at('readings.measured_at') }}

),

visits as (

    select
        visits.record_id,
        assignments.user_id
    from {{ ref('stg_kafka__gym_login') }} as visits
    inner join assignments
        on visits.mac_address = assignments.mac_address
        and {{ assigned_at('visits.login', by='mac') }}

),

registrations as (

    select record_id, user_id from {{ ref('stg_registrations') }}

),

attributed as (

    select * from named where user_id is not null
    union all
    select * from readings
    union all
    select * from visits

),

---------- records no rule attributes: the identifiers their text names

unattributed as (

    select
        records.record_id,
        coalesce(records.value, records.raw) as text
    from {{ ref('stg_kafka__records') }} as records
    left anti join attributed
        on records.record_id = attributed.record_id

),

identifiers_in_text as (

    select
        record_id,
        try_cast(
            regexp_extract(text, '"user_id"\\s*:\\s*"?\\s*([0-9]+)', 1) as bigint
        ) as user_id,
        try_cast(
            regexp_extract(text, '"device_id"\\s*:\\s*"?\\s*([0-9]+)', 1) as bigint
        ) as device_id,
        lower(
            regexp_extract(text, '"mac_address"\\s*:\\s*"\\s*([0-9A-Fa-f:]+)', 1)
        ) as mac_address
    from unattributed

),

held_in_text as (

    select
        identifiers.record_id,
        assignments.user_id
    from identifiers_in_text as identifiers
    inner join assignments on identifiers.device_id = assignments.device_id

    union all

    select
        identifiers.record_id,
        assignments.user_id
    from identifiers_in_text as identifiers
    inner join assignments on identifiers.mac_address = assignments.mac_address

),

owners as (

    select * from attributed
    union all
    select * from registrations
    union all
    select record_id, user_id from identifiers_in_text
    union all
    select * from held_in_text

)

select distinct
    record_id,
    user_id
from owners
where user_id is not null

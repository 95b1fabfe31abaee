{#- Rebuilt in full each run: ages move with var('as_of_date') (today by default). -#}
with

profiles as (

    select * from {{ ref('user_profile') }}

),

reference as (

    -- noqa: disable=LT02
    select
        {% if var('as_of_date') %}
        date '{{ var("as_of_date") }}'
        {% else %}
        current_date()
        {% endif %} as as_of_date  -- noqa: enable=LT02

)

select
    profiles.user_id,
    {{ age_bin('profiles.dob', 'reference.as_of_date') }} as age,
    profiles.gender,
    profiles.city,
    profiles.state
from profiles
cross join reference

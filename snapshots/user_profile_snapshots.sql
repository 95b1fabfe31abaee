{% snapshot user_profile_snapshots %}

{{ config(
    unique_key='user_id',
    strategy='check',
    check_cols=['is_deleted', 'updated_at'],
    file_format='delta',
) }}

-- processing-time SCD2 of each user's current state; a delete is carried as data (is_deleted)
-- so dbt-spark and dbt-databricks record it the same way
select
    user_id,
    {%- for column in profile_columns() %}
    {{ column }},
    {%- endfor %}
    valid_from as updated_at,
    is_deleted
from {{ ref('user_profile_history') }}
where valid_to is null

{% endsnapshot %}

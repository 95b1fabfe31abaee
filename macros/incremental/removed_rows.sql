{#- The rows of a model that recomputes a set of keys (config `removes_rows=true`): the
    `recomputed` rows and, on an incremental run, the stored rows of the `touched` keys that they
    no longer contain, flagged `is_removed` for the merge to delete (get_merge_sql). `keys` join to
    `touched`; `grain` identifies a row; `columns` are the model's columns, in order. -#}
{% macro removed_rows(touched, recomputed, keys, grain, columns) -%}
select
    {%- for column in columns %}
    {{ column }}{{ ',' if not loop.last or is_incremental() }}
    {%- endfor %}
    {%- if is_incremental() %}
    false as is_removed
    {%- endif %}
from {{ recomputed }}
{%- if is_incremental() %}

union all

select
    {%- for column in columns %}
    current_rows.{{ column }},
    {%- endfor %}
    true as is_removed
from {{ this }} as current_rows
left semi join {{ touched }}
    on {% for key in keys -%}
    current_rows.{{ key }} = {{ touched }}.{{ key }}{{ ' and ' if not loop.last }}
    {%- endfor %}
left anti join {{ recomputed }}
    on {% for column in grain -%}
    current_rows.{{ column }} = {{ recomputed }}.{{ column }}{{ ' and ' if not loop.last }}
    {%- endfor %}
{%- endif %}
{%- endmacro %}

{#- For incremental models that recompute a set of keys: the stored rows of the `touched` keys
    that the `recomputed` rows no longer contain, marked `is_removed` for delete_removed_rows.
    `keys` join to `touched`; `grain` identifies a row; `columns` are the model's other columns. -#}
{% macro removed_rows(touched, recomputed, keys, grain, columns) -%}
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
{%- endmacro %}

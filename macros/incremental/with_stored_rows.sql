{#- The rows a merge model chooses among: its new rows (`new_rows`, SQL) and, on an incremental
    run, the stored rows of the keys they touch, which compete with them. `key`: the columns a
    stored row shares with a new row; `columns`: the stored columns to read back, in the new rows'
    order; `bound`: a column of the key, to read back only the stored rows within the new rows'
    range of it (merge_bound, which the merge then applies too). -#}
{% macro with_stored_rows(new_rows, key, columns, bound=none) -%}
select * from ({{ new_rows }})
{%- if is_incremental() %}

union all

select
    {%- for column in columns %}
    current_rows.{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ this }} as current_rows
left semi join ({{ new_rows }}) as new_rows
    on {% for column in key -%}
    current_rows.{{ column }} = new_rows.{{ column }}{{ ' and ' if not loop.last }}
    {%- endfor %}
{%- if bound is not none %}
where {{ merge_bound(bound, new_rows, 'current_rows') }}
{%- endif %}
{%- endif %}
{%- endmacro %}

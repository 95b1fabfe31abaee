{#- Every combination of `columns` in the model is one in `to`: a relationships test over several
    columns. Declared both ways, it says two models have the same keys. -#}
{% test keys_in(model, to, columns) %}

with

child as (

    select {{ columns | join(', ') }}
    from {{ model }}

),

parent as (

    select {{ columns | join(', ') }}
    from {{ to }}

)

select *
from child
left anti join parent
    on {% for column in columns -%}
    child.{{ column }} = parent.{{ column }}{{ ' and ' if not loop.last }}
    {%- endfor %}

{% endtest %}

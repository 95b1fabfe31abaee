{#- The model has no rows (optionally: no rows matching `where`); used at warn severity to
    surface quarantined input. -#}
{% test no_rows(model, column_name=none) %}

select * from {{ model }}

{% endtest %}

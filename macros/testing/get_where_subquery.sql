{#- The rows a generic data test reads (dbt calls this for the tested model of every generic test).

    A test's own `where` config applies as in dbt. With the variable `test_window_hours` set, as
    the hourly build sets it, a test of a model or source that has an `ingested_at` column reads
    only the rows ingested within that many hours: the rows the run wrote, in the files Delta
    keeps for them, rather than whole tables. The scheduled full test run
    (resources/dbt.job.yml) leaves the variable unset and tests every row. -#}
{% macro get_where_subquery(relation) -%}
  {#- the window first: `<relation> where (` would read as a table alias `where` with columns -#}
  {%- set filters = [test_window_filter(), config.get('where')]
    | reject('none') | reject('equalto', '') | list -%}
  {%- if filters | length == 2 -%}
    {%- set filters = [filters[0], '(' ~ filters[1] ~ ')'] -%}
  {%- endif -%}
  {%- if filters -%}
    {%- set filtered = 'select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') -%}
    {%- do return('(' ~ filtered ~ ') dbt_subquery') -%}
  {%- endif -%}
  {%- do return(relation) -%}
{%- endmacro %}

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


{#- `ingested_at >= <now - test_window_hours>` for a test whose model or source documents an
    `ingested_at` column, while `test_window_hours` is set; else none. -#}
{% macro test_window_filter() -%}
  {%- set hours = var('test_window_hours', none) -%}
  {%- if hours is none or not execute -%}{%- do return(none) -%}{%- endif -%}
  {%- if not (hours | string | replace('.', '', 1)).isdigit() or hours | float <= 0 -%}
    {%- do exceptions.raise_compiler_error(
      "test_window_hours must be a positive number of hours, not " ~ hours
      ~ ": pass e.g. --vars '{test_window_hours: 3}', or leave it unset to test every row"
    ) -%}
  {%- endif -%}
  {#- a test of a source has no attached node: its one dependency is the source -#}
  {%- set tested_id = model.attached_node or (model.depends_on.nodes | first) -%}
  {%- set tested = graph.nodes.get(tested_id) or graph.sources.get(tested_id) -%}
  {%- if tested is none or 'ingested_at' not in tested.columns -%}
    {%- do return(none) -%}
  {%- endif -%}
  {%- set seconds = hours | float * 3600 -%}
  {%- set since = 'current_timestamp() - make_dt_interval(0, 0, 0, ' ~ seconds ~ ')' -%}
  {%- do return('ingested_at >= ' ~ since) -%}
{%- endmacro %}

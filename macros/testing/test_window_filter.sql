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

{#- Bounded incremental merges. Delta skips a merge target's files only by literal predicates on
    the target in the ON clause; dbt's `incremental_predicates` is fixed when the project is
    parsed. So a model states the range of its new rows and the merge adds it.

    merge_bound(column, rows, alias): `alias.column` within the smallest and largest `column`
    of the SQL `rows` (the model's new rows), as literals read by one query now; `false` when
    `rows` is empty (the merge then reads no file), `true` on a full build or in a unit test.
    The range is noted in the SQL (`merge bound <column> <type> '<low>' '<high>'`) for
    get_merge_sql below. The model filters the stored rows it reads back with the same
    predicate: every stored row that can meet a new row's key lies within it.

    `column` must be part of the model's unique key, of a date, timestamp or numeric type. -#}
{% macro merge_bound(column, rows, alias) -%}
    {%- if not execute or not is_incremental() or model.resource_type == 'unit_test' -%}
    true
    {%- else -%}
        {%- set found = value_range(rows, column) -%}
    {{ within_range(alias ~ '.' ~ column, found) }} {{ merge_bound_note(column, found) }}
    {%- endif -%}
{%- endmacro %}


{#- On an incremental run, `expression` within value_range(rows, low, high); `true` on a full
    build, in a unit test or when not executing. -#}
{% macro incremental_range_bound(expression, rows, low, high=none) -%}
    {%- if not execute or not is_incremental() or model.resource_type == 'unit_test' -%}
    true
    {%- else -%}
    {{ within_range(expression, value_range(rows, low, high)) }}
    {%- endif -%}
{%- endmacro %}


{#- The smallest `low` and the largest `high` (default: `low`) of the SQL `rows`, read by one
    query: a dict of `low`, `high` (text) and `type`, or none when `rows` is empty. -#}
{% macro value_range(rows, low, high=none) -%}
    {%- set found = run_query(
        'select cast(min(' ~ low ~ ') as string), cast(max(' ~ (high or low) ~ ') as string), '
        ~ 'typeof(min(' ~ low ~ ')) from (' ~ rows ~ ')'
    ).rows[0] -%}
    {%- if found[0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set ordered = 'date|timestamp|(tiny|small|big)?int|float|double|decimal\\(.*\\)' -%}
    {%- if not modules.re.fullmatch(ordered, found[2]) -%}
        {{ exceptions.raise_compiler_error(
            'a ' ~ found[2] ~ ' column (' ~ low ~ ') cannot bound a read or a merge; '
            ~ 'use a date, timestamp or numeric column'
        ) }}
    {%- endif -%}
    {{ return({'low': found[0], 'high': found[1], 'type': found[2]}) }}
{%- endmacro %}


{#- `expression` within a value_range as literals; `false` for none (no rows). -#}
{% macro within_range(expression, range) -%}
    {%- if range is none -%}
    false
    {%- else -%}
    {{ expression }} between cast('{{ range.low }}' as {{ range.type }})
        and cast('{{ range.high }}' as {{ range.type }})
    {%- endif -%}
{%- endmacro %}


{#- The note get_merge_sql reads: the merge target's `column` lies within `range`. -#}
{% macro merge_bound_note(column, range) -%}
    {%- if range is none -%}
    /* merge bound nothing */
    {%- else -%}
    /* merge bound {{ column }} {{ range.type }} '{{ range.low }}' '{{ range.high }}' */
    {%- endif -%}
{%- endmacro %}


{#- The ON-clause predicates on the merge target (DBT_INTERNAL_DEST) noted by merge_bound in
    the model's SQL. -#}
{% macro merge_bound_predicates() -%}
    {%- set predicates = [] -%}
    {%- if '/* merge bound nothing */' in (model.compiled_code or '') -%}
        {%- do predicates.append('false') -%}
    {%- endif -%}
    {%- for column, type, low, high in modules.re.findall(
        "/\\* merge bound (\\w+) ([\\w(), ]+) '([^']*)' '([^']*)' \\*/", model.compiled_code or ''
    ) -%}
        {%- do predicates.append(
            'DBT_INTERNAL_DEST.' ~ column ~ " between cast('" ~ low ~ "' as " ~ type ~ ")"
            ~ " and cast('" ~ high ~ "' as " ~ type ~ ")"
        ) -%}
    {%- endfor -%}
    {{ return(predicates) }}
{%- endmacro %}


{#- dbt-spark's and dbt-databricks's merges, with the model's merge bounds added to the ON
    clause. -#}
{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {{ return(dbt.spark__get_merge_sql(
        target, source, unique_key, dest_columns,
        (incremental_predicates or []) + merge_bound_predicates()
    )) }}
{%- endmacro %}


{% macro databricks__get_merge_sql(
    target, source, unique_key, dest_columns, incremental_predicates
) -%}
    {{ return(dbt.databricks__get_merge_sql(
        target, source, unique_key, dest_columns,
        (incremental_predicates or []) + merge_bound_predicates()
    )) }}
{%- endmacro %}


{#- `order by <columns>` on a full build of an incremental model, nothing on an incremental run:
    the table is written as files of narrow ranges of its merge_bound column
    (spark.sql.files.maxRecordsPerFile), which bounded merges then skip. Databricks clusters the
    tables instead (liquid_clustered_by). -#}
{% macro full_build_order(columns) -%}
    {%- if not is_incremental() and target.type != 'databricks' -%}
    order by {{ columns | join(', ') }}
    {%- endif -%}
{%- endmacro %}

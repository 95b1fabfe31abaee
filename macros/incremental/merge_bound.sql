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

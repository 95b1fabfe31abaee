{#- Predicate selecting the rows of `table` (a Delta table with row tracking) committed since this
    incremental model last read it: commit versions after the one it recorded, up to the table's
    current version. Versions are commit order, not clock time, so a batch committed while a build
    ran, or a replayed batch that keeps its first attempt's `ingested_at`, is never skipped.

    The current version is read once, here, and written into the SQL as a literal, with the
    earliest `ingested_at` of the rows in the range: Delta reads only the files that can hold them
    (it cannot skip files by row version). A full build, or the first read of a table this model
    has no record of (or a table re-created since), reads every version up to the current one.
    Call it once per table and model, and reuse the result.

    `version` holds the rows' row_commit_version(); `ingested_at` their ingestion time; `where`
    restricts the predicate to the rows of `table` when the relation unions several tables;
    `up_to` reads up to that version instead of the current one. The
    range is noted in the SQL (`consumed <key>@<version>`) for the post-hook
    record_consumed_versions, which saves it once the model is built.

    In a unit test the parents are fixtures, not tables: `ingested_at` stands in for the version
    and the latest `ingested_at` of the `this` fixture for the recorded one. -#}
{% macro commits_since_last_run(
    table, version='commit_version', ingested_at='ingested_at', where=none, up_to=none
) -%}
    {%- if not execute -%}
        {%- set range = version ~ ' is not null' -%}
    {%- elif model.resource_type != 'unit_test' and load_relation(table) is none -%}
        {#- a parent not built yet (the catalogue of an environment before its first build) -#}
        {%- set range = version ~ ' is not null' -%}
    {%- elif model.resource_type == 'unit_test' -%}
        {%- if is_incremental() -%}
            {%- set range -%}
    {{ ingested_at }} > (
        select coalesce(max(ingested_at), timestamp '1970-01-01 00:00:00') from {{ this }}
    )
            {%- endset -%}
        {%- else -%}
            {%- set range = 'true' -%}
        {%- endif -%}
    {%- else -%}
        {%- set key = consumed_version_key(table) -%}
        {%- if up_to is none -%}
            {%- set query -%}
                describe history {{ table }} limit 1
            {%- endset -%}
            {%- set current = run_query(query).columns['version'].values()[0] | int -%}
        {%- else -%}
            {%- set current = up_to -%}
        {%- endif -%}
        {%- set recorded = table_properties(this).get(key) if is_incremental() else none -%}
        {%- set last = recorded | int if recorded is not none else none -%}
        {%- if last is none or last > current -%}
            {%- set range = version ~ ' <= ' ~ current -%}
        {%- elif last == current -%}
            {%- set range = 'false' -%}
        {%- else -%}
            {%- set query -%}
                select date_format(min(ingested_at), 'yyyy-MM-dd HH:mm:ss.SSSSSS')
                from {{ table }}
                where _metadata.row_commit_version > {{ last }}
                    and _metadata.row_commit_version <= {{ current }}
            {%- endset -%}
            {%- set earliest = run_query(query).columns[0].values()[0] -%}
            {%- if earliest is none -%}
                {%- set range = 'false' -%}
            {%- else -%}
                {%- set range -%}
    {{ version }} > {{ last }} and {{ version }} <= {{ current }}
        and {{ ingested_at }} >= timestamp '{{ earliest }}'
                {%- endset -%}
            {%- endif -%}
        {%- endif -%}
        {%- set range = range ~ ' /* consumed ' ~ key ~ '@' ~ current ~ ' */' -%}
    {%- endif -%}
    {%- if where is none -%}
    {{ range }}
    {%- else -%}
    (not ({{ where }}) or ({{ range }}))
    {%- endif -%}
{%- endmacro %}

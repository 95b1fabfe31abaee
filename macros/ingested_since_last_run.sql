{#- Predicate selecting bronze rows not yet seen by this incremental model: those ingested after
    the model's latest `ingested_at`, minus var('ingestion_lookback_minutes') so a batch committed
    while the previous build ran is never skipped (re-reading is idempotent). True on a full build.

    The latest `ingested_at` is read before the model runs and written into the SQL as a literal:
    Delta then skips every bronze file ingested earlier (by its min/max statistics), where a
    subquery would make each incremental run read the whole of bronze. In a unit test `this` is a
    fixture, not a table, so the subquery stays. -#}
{% macro ingested_since_last_run(column='ingested_at') -%}
    {%- if not is_incremental() -%}
    true
    {%- elif execute and model.resource_type != 'unit_test' -%}
    {{ column }} > timestamp '{{ last_ingested_at() }}'
        - interval {{ var('ingestion_lookback_minutes') }} minutes
    {%- else -%}
    {{ column }} > (
        select coalesce(max(ingested_at), timestamp '1970-01-01 00:00:00')
            - interval {{ var('ingestion_lookback_minutes') }} minutes
        from {{ this }}
    )
    {%- endif -%}
{%- endmacro %}

{#- The latest `ingested_at` of this model's table, as timestamp text (the epoch if empty). -#}
{% macro last_ingested_at() -%}
    {%- set query -%}
        select date_format(
            coalesce(max(ingested_at), timestamp '1970-01-01 00:00:00'),
            'yyyy-MM-dd HH:mm:ss.SSSSSS'
        ) as latest
        from {{ this }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}

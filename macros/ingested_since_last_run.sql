{#- Predicate selecting bronze rows not yet seen by this incremental model: those ingested after
    the model's latest `ingested_at`, minus var('ingestion_lookback_minutes') so a batch committed
    while the previous build ran is never skipped (re-reading is idempotent). True on a full build. -#}
{% macro ingested_since_last_run(column='ingested_at') -%}
    {%- if is_incremental() -%}
    {{ column }} > (
        select coalesce(max(ingested_at), timestamp '1970-01-01 00:00:00')
            - interval {{ var('ingestion_lookback_minutes') }} minutes
        from {{ this }}
    )
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

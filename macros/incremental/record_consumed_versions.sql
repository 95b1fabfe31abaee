{#- Post-hook of incremental models: once the model is built, record as table properties the
    commit version of each parent table it read up to (the `consumed <key>@<version>` notes
    commits_since_last_run left in its SQL), so the next run starts after it. Runs last: if the
    build fails before, the next run reads the same commits again (merges are idempotent). -#}
{% macro record_consumed_versions() -%}
    {%- set found = {} -%}
    {%- if execute -%}
        {%- for key, version in modules.re.findall(
            '/\\* consumed ([A-Za-z0-9_.]+)@([0-9]+) \\*/', model.compiled_code or ''
        ) -%}
            {%- do found.update({key: [found.get(key, version | int), version | int] | min}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set recorded = table_properties(this) if found else {} -%}
    {%- set changed = [] -%}
    {%- for key, version in found.items() -%}
        {%- if recorded.get(key) != version | string -%}
            {%- do changed.append("'" ~ key ~ "' = '" ~ version ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if changed -%}
    alter table {{ this }} set tblproperties ({{ changed | join(', ') }})
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

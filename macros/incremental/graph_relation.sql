{#- The relation of a source table (`source_name` given) or of a model of this project, looked up
    in the graph: unlike source() and ref() it adds no dependency, so a unit test needs no fixture
    for it. None when not executing, and in a unit test, whose graph holds only its fixtures (the
    callers evaluate it as an argument before they branch on the unit test). -#}
{% macro graph_relation(name, source_name=none) -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if source_name is none -%}
        {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ name] -%}
        {%- set identifier = node.alias -%}
    {%- else -%}
        {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ name] -%}
        {%- set identifier = node.identifier -%}
    {%- endif -%}
    {{ return(api.Relation.create(
        database=node.database, schema=node.schema, identifier=identifier
    )) }}
{%- endmacro %}

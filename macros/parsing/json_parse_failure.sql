{#- Why a text that is not strict JSON (try_parse_json gave null) fails, as precisely as SQL can
    tell: NaN or Infinity written as a number, nesting deeper than JSON parsers accept (1000
    levels), a key repeated in one object (a lenient parser reads the text), else malformed. -#}
{% macro json_parse_failure(text) -%}
    case
        when {{ text }} rlike '(^|[:,\\[]\\s*)[-+]?(NaN|Infinity)\\s*([,}\\]]|$)'
            then 'NaN or Infinity is not a JSON number'
        when length(regexp_replace({{ text }}, '[^\\[{]', '')) >= 1000
            then 'JSON nested deeper than 1000 levels'
        when get_json_object({{ text }}, '$') is not null
            and not {{ text }} rlike '[\\x00-\\x1f]'
            then 'duplicate key in a JSON object'
        else 'malformed JSON'
    end
{%- endmacro %}

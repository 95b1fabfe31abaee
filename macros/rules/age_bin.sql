{#- [Rule 8](docs/contract.md#rule-8): the age bin of a date of birth on a reference date
    (age_in_years; `invalid age` when it has none). -#}
{% macro age_bin(dob, reference_date) -%}
    {%- set age = age_in_years(dob, reference_date) -%}
    case
        when ({{ age }}) is null then 'invalid age'
        when ({{ age }}) < 18 then 'under 18'
        when ({{ age }}) < 25 then '18-25'
        when ({{ age }}) < 35 then '25-35'
        when ({{ age }}) < 45 then '35-45'
        when ({{ age }}) < 55 then '45-55'
        when ({{ age }}) < 65 then '55-65'
        when ({{ age }}) < 75 then '65-75'
        when ({{ age }}) < 85 then '75-85'
        when ({{ age }}) < 95 then '85-95'
        else '95+'
    end
{%- endmacro %}

{#- [Rule 8](docs/contract.md#rule-8): the age bin of a date of birth on a reference date. Age is
    the number of full years, comparing (month, day), so a 29 February birthday counts from 1 March
    in common years. -#}
{% macro age_bin(dob, reference_date) -%}
    {%- set age -%}
        (year({{ reference_date }}) - year({{ dob }})
            - case
                when month({{ reference_date }}) * 100 + day({{ reference_date }})
                    < month({{ dob }}) * 100 + day({{ dob }})
                    then 1
                else 0
            end)
    {%- endset -%}
    case
        when {{ dob }} is null or {{ dob }} > {{ reference_date }} then 'invalid age'
        when {{ age }} < 18 then 'under 18'
        when {{ age }} < 25 then '18-25'
        when {{ age }} < 35 then '25-35'
        when {{ age }} < 45 then '35-45'
        when {{ age }} < 55 then '45-55'
        when {{ age }} < 65 then '55-65'
        when {{ age }} < 75 then '65-75'
        when {{ age }} < 85 then '75-85'
        when {{ age }} < 95 then '85-95'
        else '95+'
    end
{%- endmacro %}

{#- [Rule 8](docs/contract.md#rule-8): full years between a date of birth and a reference date,
    comparing (month, day), so a 29 February birthday counts from 1 March in common years; null
    when the date of birth is missing or after the reference date (an invalid age). -#}
{% macro age_in_years(dob, reference_date) -%}
    case
        when {{ dob }} is not null and {{ dob }} <= {{ reference_date }}
            then year({{ reference_date }}) - year({{ dob }})
                - case
                    when month({{ reference_date }}) * 100 + day({{ reference_date }})
                        < month({{ dob }}) * 100 + day({{ dob }})
                        then 1
                    else 0
                end
    end
{%- endmacro %}

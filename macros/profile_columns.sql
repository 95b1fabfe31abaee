{#- The columns of a user's profile image ([rule 3](docs/contract.md#rule-3)), in the order silver
    shows them: what a CDC event carries and user_profile_history, user_profile and the snapshot
    keep. -#}
{% macro profile_columns() -%}
    {{ return([
        'first_name', 'last_name', 'dob', 'sex', 'gender', 'street_address', 'city', 'state', 'zip',
    ]) }}
{%- endmacro %}

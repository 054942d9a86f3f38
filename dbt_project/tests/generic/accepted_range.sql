{#-
    Fails on every non-null value of column_name outside [min_value, max_value]
    (or the open interval when inclusive is false). Either bound may be left out.
    Nulls pass: pair with not_null where a value is required.
-#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("accepted_range needs min_value, max_value or both") }}
{%- endif -%}

with

checked as (

    select {{ column_name }} as checked_value
    from {{ model }}
    where {{ column_name }} is not null

),

final as (

    select * from checked
    where false
    {%- if min_value is not none %}
        or checked_value {{ '<' if inclusive else '<=' }} {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
        or checked_value {{ '>' if inclusive else '>=' }} {{ max_value }}
    {%- endif %}

)

select * from final

{% endtest %}

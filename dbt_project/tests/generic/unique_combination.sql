{#-
    Fails once for every combination of `combination` columns that occurs more than once.
    A null in a key column counts as a value (two rows with the same nulls are duplicates).
-#}
{% test unique_combination(model, combination) %}

{%- if combination is string -%}
    {%- set combination = [combination] -%}
{%- endif -%}

with

counted as (

    select
        {% for column in combination -%}
        {{ column }},
        {% endfor -%}
        count(*) as occurrences,

    from {{ model }}
    group by {% for column in combination %}{{ column }}{{ ', ' if not loop.last }}{% endfor %}

),

final as (

    select * from counted
    where occurrences > 1

)

select * from final

{% endtest %}

{#-
    Fails on every row where `expression` is not true (false or null).
    Use the test's `where` config to restrict the rows it applies to.
    With column_name, the expression is prefixed with the column: `column_name >= 0`.
-#}
{% test expression_is_true(model, expression, column_name=none) %}

with

checked as (

    select
        *,
        {% if column_name is not none %}({{ column_name }} {{ expression }}){% else %}({{ expression }}){% endif %} as expression_holds,

    from {{ model }}

),

final as (

    select * from checked
    where expression_holds is distinct from true

)

select * from final

{% endtest %}

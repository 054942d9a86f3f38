{#-
    SQL expression for the period a rank change is measured against:
    'YYYY' -> 'YYYY-1', 'YYYYH2' -> 'YYYYH1', 'YYYYH1' -> '(YYYY-1)H2'.
    Anything else gives null. Mirrors pipelines/partitions.py::previous_period.
-#}
{% macro previous_period(period) -%}
    case
        when regexp_full_match({{ period }}, '[0-9]{4}')
            then cast(cast({{ period }} as integer) - 1 as varchar)
        when regexp_full_match({{ period }}, '[0-9]{4}H2')
            then substr({{ period }}, 1, 4) || 'H1'
        when regexp_full_match({{ period }}, '[0-9]{4}H1')
            then cast(cast(substr({{ period }}, 1, 4) as integer) - 1 as varchar) || 'H2'
    end
{%- endmacro %}

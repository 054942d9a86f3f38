-- Totals by period, unit and data element: communes carry their own values (and the built-in
-- unit counts); provinces carry their own province-level elements and the sum of their
-- communes' commune-level elements.
with

commune_element_values as (

    select * from {{ ref('int_commune_element_values') }}

),

province_element_values as (

    select * from {{ ref('int_province_element_values') }}

),

unioned as (

    select
        period,
        'commune' as unit_level,
        unit_code,
        province_code,
        data_element,
        value,

    from commune_element_values

    union all

    select
        period,
        'province' as unit_level,
        province_code as unit_code,
        province_code,
        data_element,
        value,

    from province_element_values

),

final as (

    select * from unioned

)

select * from final

with

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

final as (

    select
        unit_code,
        unit_level,
        unit_name,
        division_type,
        province_code,
        province_name,

    from admin_units

)

select * from final

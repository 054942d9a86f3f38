with

source as (

    select * from {{ source('ref', 'admin_units') }}

),

renamed as (

    select
        cast(unit_code as varchar) as unit_code,
        cast(unit_level as varchar) as unit_level,
        cast(unit_name as varchar) as unit_name,
        cast(division_type as varchar) as division_type,
        cast(province_code as varchar) as province_code,
        cast(province_name as varchar) as province_name,
        cast(codename as varchar) as codename,

    from source

),

final as (

    select * from renamed

)

select * from final

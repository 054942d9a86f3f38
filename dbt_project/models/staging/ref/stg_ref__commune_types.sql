with

source as (

    select * from {{ source('ref_commune', 'commune_types') }}

),

renamed as (

    select
        cast(commune_code as varchar) as unit_code,
        cast(commune_type as varchar) as commune_type,
        cast(type_source as varchar) as type_source,

    from source

),

final as (

    select * from renamed

)

select * from final

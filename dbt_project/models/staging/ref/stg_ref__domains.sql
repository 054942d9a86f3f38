with

source as (

    select * from {{ source('ref', 'domains') }}

),

renamed as (

    select
        cast(domain_code as varchar) as domain_code,
        cast(name_vi as varchar) as domain_name_vi,
        cast(name_en as varchar) as domain_name_en,
        cast(weight as double) as domain_weight,
        cast(ordinal as integer) as domain_ordinal,

    from source

),

final as (

    select * from renamed

)

select * from final

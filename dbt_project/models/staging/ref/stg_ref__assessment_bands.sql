with

source as (

    select * from {{ source('ref_commune', 'assessment_bands') }}

),

renamed as (

    select
        cast(item_code as varchar) as item_code,
        cast(band_ordinal as integer) as band_ordinal,
        cast(bound as double) as bound,
        cast(points as double) as points,

    from source

),

final as (

    select * from renamed

)

select * from final

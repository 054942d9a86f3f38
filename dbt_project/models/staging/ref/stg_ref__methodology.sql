with

source as (

    select * from {{ source('ref', 'methodology') }}

),

renamed as (

    select
        cast(version as varchar) as methodology_version,
        cast(name_vi as varchar) as name_vi,
        cast(name_en as varchar) as name_en,
        cast(file_sha256 as varchar) as file_sha256,
        cast(normalisation as varchar) as normalisation,
        cast(aggregation as varchar) as aggregation,
        cast(geometric_floor as double) as geometric_floor,
        cast(min_indicator_share as double) as min_indicator_share,
        cast(min_indicators_per_domain as integer) as min_indicators_per_domain,
        cast(rank_decimals as integer) as rank_decimals,

    from source

),

final as (

    select * from renamed

)

select * from final

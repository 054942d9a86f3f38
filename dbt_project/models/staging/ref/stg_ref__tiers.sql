with

source as (

    select * from {{ source('ref', 'tiers') }}

),

renamed as (

    select
        cast(tier as integer) as tier,
        cast(name_vi as varchar) as tier_name_vi,
        cast(name_en as varchar) as tier_name_en,
        cast(max_rank_share as double) as max_rank_share,

    from source

),

final as (

    select * from renamed

)

select * from final

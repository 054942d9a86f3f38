with

source as (

    select * from {{ source('ref', 'tiers') }}

),

renamed as (

    select
        cast(tier as integer) as tier,
        cast(name_vi as varchar) as tier_name_vi,
        cast(name_en as varchar) as tier_name_en,
        cast(basis as varchar) as tier_basis,
        cast(max_rank_share as double) as max_rank_share,
        cast(min_rank as integer) as min_rank,
        cast(max_rank as integer) as max_rank,
        cast(min_score as double) as min_score,

    from source

),

final as (

    select * from renamed

)

select * from final

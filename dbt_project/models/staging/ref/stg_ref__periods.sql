with

source as (

    select * from {{ source('ref', 'periods') }}

),

renamed as (

    select
        cast(period as varchar) as period,
        cast(previous_period as varchar) as previous_period,

    from source

),

final as (

    select * from renamed

)

select * from final

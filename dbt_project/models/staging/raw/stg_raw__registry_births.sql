-- Birth records of the civil registry extract, reduced to what the counts need: no identifier.
with

source as (

    select * from {{ source('raw', 'registry_births') }}

),

renamed as (

    select
        cast(period as varchar) as period,
        cast(commune_code as varchar) as commune_code,
        cast(birth_date as date) as birth_date,
        cast(registration_date as date) as registration_date,
        -- days from birth to registration; null when not registered
        datediff('day', birth_date, registration_date) as registration_delay_days,

    from source

),

final as (

    select * from renamed

)

select * from final

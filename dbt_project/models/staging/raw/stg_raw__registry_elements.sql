-- The data elements each registry produced for a period, and by which rule (methodology/registries.yaml).
with

source as (

    select * from {{ source('raw', 'registry_elements') }}

),

renamed as (

    select
        cast(period as varchar) as period,
        cast(registry as varchar) as registry_code,
        cast(data_element as varchar) as data_element,
        cast(rule as varchar) as rule,
        cast(days as integer) as days,

    from source

),

final as (

    select * from renamed

)

select * from final

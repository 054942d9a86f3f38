with

source as (

    select * from {{ source('ref', 'indicator_terms') }}

),

renamed as (

    select
        cast(indicator_code as varchar) as indicator_code,
        cast(role as varchar) as term_role,
        cast(data_element as varchar) as data_element,

    from source

),

final as (

    select * from renamed

)

select * from final

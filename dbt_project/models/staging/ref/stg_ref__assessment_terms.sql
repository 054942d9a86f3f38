with

source as (

    select * from {{ source('ref_commune', 'assessment_terms') }}

),

renamed as (

    select
        cast(item_code as varchar) as item_code,
        cast(role as varchar) as term_role,
        cast(data_element as varchar) as data_element,

    from source

),

final as (

    select * from renamed

)

select * from final

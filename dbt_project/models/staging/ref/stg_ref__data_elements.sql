with

source as (

    select * from {{ source('ref', 'data_elements') }}

),

renamed as (

    select
        cast(data_element as varchar) as data_element,
        cast(sector as varchar) as sector_code,
        cast(level as varchar) as element_level,
        cast(kind as varchar) as element_kind,
        cast(name_vi as varchar) as name_vi,
        cast(name_en as varchar) as name_en,
        cast(mandatory as boolean) as is_mandatory,
        cast(sensitive as boolean) as is_sensitive,

    from source

),

final as (

    select * from renamed

)

select * from final

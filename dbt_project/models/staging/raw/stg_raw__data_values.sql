-- Totals only: a disaggregated row (e.g. sex=F) is part of a total, never added to it.
with

source as (

    select * from {{ source('raw', 'data_values') }}

),

renamed as (

    select
        cast(period as varchar) as period,
        cast(sector as varchar) as sector_code,
        cast(unit_code as varchar) as unit_code,
        cast(data_element as varchar) as data_element,
        cast(value as double) as value,
        cast(unit_name as varchar) as reported_unit_name,
        cast(comment as varchar) as comment,
        cast(source_file as varchar) as source_file,
        cast(file_sha256 as varchar) as file_sha256,
        cast(row_number as integer) as source_row_number,
        cast(loaded_at as timestamp) as loaded_at,
        -- 'province_only': an old commune the crosswalk cannot map, counted in its province only
        cast(match_method as varchar) as match_method,

    from source
    where disaggregation = ''

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ source('ref_commune', 'assessment_items') }}

),

renamed as (

    select
        cast(item_code as varchar) as item_code,
        cast(criterion_code as varchar) as criterion_code,
        cast(ordinal as integer) as item_ordinal,
        cast(name_vi as varchar) as item_name_vi,
        cast(name_en as varchar) as item_name_en,
        cast(input_kind as varchar) as input_kind,
        cast(multiplier as double) as multiplier,
        cast(band_type as varchar) as band_type,
        cast(max_points as double) as max_points,
        cast(if_no_denominator as double) as if_no_denominator_points,
        cast(assumed as boolean) as is_assumed,

    from source

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ source('ref_commune', 'assessment_thresholds') }}

),

renamed as (

    select
        cast(commune_type as varchar) as commune_type,
        cast(ordinal as integer) as commune_type_ordinal,
        cast(name_vi as varchar) as commune_type_name_vi,
        cast(name_en as varchar) as commune_type_name_en,
        cast(min_total_points as double) as min_total_points,
        cast(is_default as boolean) as is_default,

    from source

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ source('ref_commune', 'assessment_criteria') }}

),

renamed as (

    select
        cast(criterion_code as varchar) as criterion_code,
        cast(ordinal as integer) as criterion_ordinal,
        cast(name_vi as varchar) as criterion_name_vi,
        cast(name_en as varchar) as criterion_name_en,
        cast(max_points as double) as max_points,
        cast(pass_points as double) as pass_points,
        cast(pass_assumed as boolean) as is_pass_assumed,
        cast(assumed as boolean) as is_assumed,
        cast(is_sensitive as boolean) as is_sensitive,

    from source

),

final as (

    select * from renamed

)

select * from final

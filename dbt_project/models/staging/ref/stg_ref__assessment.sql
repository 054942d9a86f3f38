with

source as (

    select * from {{ source('ref_commune', 'assessment') }}

),

renamed as (

    select
        cast(assessment_code as varchar) as assessment_code,
        cast(version as varchar) as assessment_version,
        cast(name_vi as varchar) as name_vi,
        cast(name_en as varchar) as name_en,
        cast(file_name as varchar) as file_name,
        cast(file_sha256 as varchar) as file_sha256,
        cast(periods as varchar) as periods_assessed,
        cast(total_points as double) as total_points,
        cast(replaces_element as varchar) as replaces_element,
        cast(exclude_sensitive_indicators as boolean) as exclude_sensitive_indicators,
        cast(default_commune_type as varchar) as default_commune_type,

    from source

),

final as (

    select * from renamed

)

select * from final

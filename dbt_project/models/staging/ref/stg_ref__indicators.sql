with

source as (

    select * from {{ source('ref', 'indicators') }}

),

renamed as (

    select
        cast(indicator_code as varchar) as indicator_code,
        cast(domain_code as varchar) as domain_code,
        cast(name_vi as varchar) as name_vi,
        cast(name_en as varchar) as name_en,
        cast(level as varchar) as indicator_level,
        cast(numerator_formula as varchar) as numerator_formula,
        cast(denominator_formula as varchar) as denominator_formula,
        cast(multiplier as double) as multiplier,
        cast(direction as varchar) as direction,
        cast(goal_low as double) as goal_low,
        cast(goal_high as double) as goal_high,
        cast(target_2025 as double) as target_2025,
        cast(target_2030 as double) as target_2030,
        cast(plausible_min as double) as plausible_min,
        cast(plausible_max as double) as plausible_max,
        cast(weight as double) as indicator_weight,
        cast(unit_vi as varchar) as unit_vi,
        cast(unit_en as varchar) as unit_en,
        cast(ordinal as integer) as indicator_ordinal,

    from source

),

final as (

    select * from renamed

)

select * from final

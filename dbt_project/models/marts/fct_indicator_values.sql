with

indicator_scores as (

    select * from {{ ref('int_indicator_scores') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

final as (

    select
        indicator_scores.period,
        indicator_scores.unit_level,
        indicator_scores.unit_code,
        admin_units.unit_name,
        indicator_scores.province_code,
        indicator_scores.indicator_code,
        indicator_scores.domain_code,
        indicator_scores.numerator,
        indicator_scores.denominator,
        indicator_scores.value,
        indicator_scores.score,

    from indicator_scores
    left join admin_units
        on indicator_scores.unit_code = admin_units.unit_code

)

select * from final

with

domain_scores as (

    select * from {{ ref('int_domain_scores') }}

),

final as (

    select
        period,
        unit_level,
        unit_code,
        province_code,
        domain_code,
        domain_name_vi,
        domain_name_en,
        score,
        cast(indicators_used as integer) as indicators_used,
        cast(indicators_total as integer) as indicators_total,

    from domain_scores

)

select * from final

-- Domain (lĩnh vực) scores of every unit: the weighted mean of the unit's available indicator
-- scores in the domain; a missing indicator drops out of the mean. indicators_total counts the
-- domain's indicators that exist at the unit's level.
with

indicator_scores as (

    select * from {{ ref('int_indicator_scores') }}

),

domains as (

    select * from {{ ref('stg_ref__domains') }}

),

aggregated as (

    select
        period,
        unit_level,
        unit_code,
        province_code,
        domain_code,
        -- summed in a fixed order: a parallel sum's order moves the last bit from one run to the next
        sum(indicator_weight * score order by indicator_code) filter (where score is not null)
            / nullif(sum(indicator_weight order by indicator_code) filter (where score is not null), 0) as score,
        count(score) as indicators_used,
        count(*) as indicators_total,

    from indicator_scores
    group by period, unit_level, unit_code, province_code, domain_code

),

final as (

    select
        aggregated.period,
        aggregated.unit_level,
        aggregated.unit_code,
        aggregated.province_code,
        aggregated.domain_code,
        domains.domain_name_vi,
        domains.domain_name_en,
        domains.domain_weight,
        domains.domain_ordinal,
        aggregated.score,
        aggregated.indicators_used,
        aggregated.indicators_total,

    from aggregated
    inner join domains
        on aggregated.domain_code = domains.domain_code

)

select * from final

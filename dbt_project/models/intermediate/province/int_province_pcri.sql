-- The PCRI of every province and period, and whether the province can be ranked.
-- PCRI = weighted arithmetic mean of the available domain scores, or the weighted geometric
-- mean exp(sum w ln(max(score, geometric_floor)) / sum w), as ref.methodology says.
-- Ranked when indicators_used / indicators_total >= min_indicator_share and every domain has at
-- least min_indicators_per_domain indicators with a score; otherwise the reason, in Vietnamese.
with

domain_scores as (

    select * from {{ ref('int_domain_scores') }}

),

methodology as (

    select * from {{ ref('stg_ref__methodology') }}

),

province_domains as (

    select
        domain_scores.period,
        domain_scores.province_code,
        domain_scores.domain_code,
        domain_scores.domain_weight,
        domain_scores.domain_ordinal,
        domain_scores.score,
        domain_scores.indicators_used,
        domain_scores.indicators_total,
        methodology.min_indicators_per_domain,
        methodology.geometric_floor,
        {{ domain_shortfall('domain_scores', 'methodology') }} as domain_shortfall,

    from domain_scores
    cross join methodology
    where domain_scores.unit_level = 'province'

),

aggregated as (

    select
        period,
        province_code,
        {{ index_aggregates('province_domains') }}

    from province_domains
    group by period, province_code

),

assessed as (

    select
        aggregated.*,
        methodology.aggregation,
        methodology.rank_decimals,
        methodology.min_indicator_share,
        {{ has_enough_indicators('aggregated', 'methodology') }} as has_enough_indicators,
        {{ aggregated_index('aggregated', 'methodology') }} as pcri,

    from aggregated
    cross join methodology

),

final as (

    select
        period,
        province_code,
        pcri,
        round(pcri, rank_decimals) as pcri_rounded,
        cast(indicators_used as integer) as indicators_used,
        cast(indicators_total as integer) as indicators_total,
        {{ is_ranked('assessed', 'pcri') }} as is_ranked,
        {{ not_ranked_reason('assessed', 'pcri') }} as not_ranked_reason,

    from assessed

)

select * from final

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
        case
            when domain_scores.indicators_used >= methodology.min_indicators_per_domain then null
            when domain_scores.indicators_used = 0
                then 'Lĩnh vực ' || domain_scores.domain_code || ' không có chỉ số nào'
            else 'Lĩnh vực ' || domain_scores.domain_code || ' chỉ có '
                || domain_scores.indicators_used || '/' || domain_scores.indicators_total
                || ' chỉ số (cần tối thiểu ' || methodology.min_indicators_per_domain || ')'
        end as domain_shortfall,

    from domain_scores
    cross join methodology
    where domain_scores.unit_level = 'province'

),

aggregated as (

    select
        period,
        province_code,
        sum(indicators_used) as indicators_used,
        sum(indicators_total) as indicators_total,
        count(domain_shortfall) as domains_short,
        string_agg(domain_shortfall, '; ' order by domain_ordinal) as domain_shortfalls,
        sum(domain_weight * score) filter (where score is not null)
            / nullif(sum(domain_weight) filter (where score is not null), 0) as pcri_arithmetic,
        exp(
            sum(domain_weight * ln(greatest(score, geometric_floor))) filter (where score is not null)
            / nullif(sum(domain_weight) filter (where score is not null), 0)
        ) as pcri_geometric,

    from province_domains
    group by period, province_code

),

assessed as (

    select
        aggregated.*,
        methodology.aggregation,
        methodology.rank_decimals,
        methodology.min_indicator_share,
        aggregated.indicators_total > 0
            and cast(aggregated.indicators_used as double) / aggregated.indicators_total + 1e-9
                >= methodology.min_indicator_share as has_enough_indicators,
        case methodology.aggregation
            when 'arithmetic' then aggregated.pcri_arithmetic
            when 'geometric' then aggregated.pcri_geometric
        end as pcri,

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
        {{ is_ranked('pcri') }} as is_ranked,
        {{ not_ranked_reason('pcri') }} as not_ranked_reason,

    from assessed

)

select * from final

-- The commune index of every commune and period, for the ranking of communes within their province:
-- the PCRI method of the methodology (ref.methodology) over the commune-level indicator scores of
-- int_indicator_scores. Domain score = weighted mean of the commune's available indicator scores in the
-- domain; index = weighted arithmetic mean of the domain scores, or the weighted geometric mean
-- exp(sum w ln(max(score, geometric_floor)) / sum w); ranked when indicators_used / indicators_total
-- >= min_indicator_share and every domain has at least min_indicators_per_domain indicators with a
-- score, otherwise the reason in Vietnamese. One difference from provinces: indicators whose numerator
-- is a sensitive data element are left out when the assessment file says so
-- (ranking.exclude_sensitive_indicators, default true): their small commune counts are suppressed in
-- releases, and a published index built on them would give the counts away by subtraction.
with

indicator_scores as (

    select * from {{ ref('int_indicator_scores') }}

),

indicator_terms as (

    select * from {{ ref('stg_ref__indicator_terms') }}

),

data_elements as (

    select * from {{ ref('stg_ref__data_elements') }}

),

domains as (

    select * from {{ ref('stg_ref__domains') }}

),

methodology as (

    select * from {{ ref('stg_ref__methodology') }}

),

assessment as (

    select * from {{ ref('stg_ref__assessment') }}

),

sensitive_indicators as (

    select distinct indicator_terms.indicator_code
    from indicator_terms
    inner join data_elements
        on indicator_terms.data_element = data_elements.data_element
    where indicator_terms.term_role = 'numerator'
        and data_elements.is_sensitive

),

settings as (

    select coalesce(max(cast(exclude_sensitive_indicators as integer)), 1) = 1 as exclude_sensitive_indicators
    from assessment

),

commune_scores as (

    select indicator_scores.*
    from indicator_scores
    cross join settings
    where indicator_scores.unit_level = 'commune'
        and not (
            settings.exclude_sensitive_indicators
            and indicator_scores.indicator_code in (select indicator_code from sensitive_indicators)
        )

),

domain_scores as (

    select
        commune_scores.period,
        commune_scores.unit_code,
        commune_scores.province_code,
        commune_scores.domain_code,
        domains.domain_weight,
        domains.domain_ordinal,
        -- summed in a fixed order: a parallel sum's order moves the last bit from one run to the next
        sum(commune_scores.indicator_weight * commune_scores.score order by commune_scores.indicator_code)
            filter (where commune_scores.score is not null)
            / nullif(sum(commune_scores.indicator_weight order by commune_scores.indicator_code)
                filter (where commune_scores.score is not null), 0)
            as score,
        count(commune_scores.score) as indicators_used,
        count(*) as indicators_total,

    from commune_scores
    inner join domains
        on commune_scores.domain_code = domains.domain_code
    group by
        commune_scores.period,
        commune_scores.unit_code,
        commune_scores.province_code,
        commune_scores.domain_code,
        domains.domain_weight,
        domains.domain_ordinal

),

commune_domains as (

    select
        domain_scores.*,
        methodology.geometric_floor,
        {{ domain_shortfall('domain_scores', 'methodology') }} as domain_shortfall,

    from domain_scores
    cross join methodology

),

aggregated as (

    select
        period,
        unit_code,
        province_code,
        {{ index_aggregates('commune_domains') }}

    from commune_domains
    group by period, unit_code, province_code

),

assessed as (

    select
        aggregated.*,
        methodology.rank_decimals,
        methodology.min_indicator_share,
        {{ has_enough_indicators('aggregated', 'methodology') }} as has_enough_indicators,
        {{ aggregated_index('aggregated', 'methodology') }} as commune_index,

    from aggregated
    cross join methodology

),

final as (

    select
        period,
        unit_code,
        province_code,
        commune_index,
        round(commune_index, rank_decimals) as index_rounded,
        cast(indicators_used as integer) as indicators_used,
        cast(indicators_total as integer) as indicators_total,
        {{ is_ranked('assessed', 'commune_index') }} as is_ranked,
        {{ not_ranked_reason('assessed', 'commune_index') }} as not_ranked_reason,

    from assessed

)

select * from final

-- Commune values of the commune-level indicators (every term reported per commune):
-- value = sum(numerator terms) x multiplier / sum(denominator terms); null when a term is
-- missing or the denominator is 0.
with

indicator_terms as (

    select * from {{ ref('int_commune_indicator_terms') }}

),

indicators as (

    select * from {{ ref('stg_ref__indicators') }}

),

commune_indicators as (

    select
        indicator_code,
        domain_code,
        multiplier,

    from indicators
    where indicator_level = 'commune'

),

computed as (

    select
        indicator_terms.period,
        indicator_terms.unit_code,
        indicator_terms.province_code,
        indicator_terms.indicator_code,
        commune_indicators.domain_code,
        case when indicator_terms.has_all_numerator_terms then indicator_terms.numerator end as numerator,
        case when indicator_terms.has_all_denominator_terms then indicator_terms.denominator end as denominator,
        case
            when indicator_terms.has_all_terms and indicator_terms.denominator <> 0
                then indicator_terms.numerator * commune_indicators.multiplier / indicator_terms.denominator
        end as value,
        indicator_terms.has_all_terms,

    from indicator_terms
    inner join commune_indicators
        on indicator_terms.indicator_code = commune_indicators.indicator_code

),

final as (

    select * from computed

)

select * from final

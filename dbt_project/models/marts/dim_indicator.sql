with

indicators as (

    select * from {{ ref('stg_ref__indicators') }}

),

domains as (

    select * from {{ ref('stg_ref__domains') }}

),

indicator_terms as (

    select * from {{ ref('stg_ref__indicator_terms') }}

),

data_elements as (

    select * from {{ ref('stg_ref__data_elements') }}

),

sensitivity as (

    select
        indicator_terms.indicator_code,
        bool_or(data_elements.is_sensitive) as is_sensitive,

    from indicator_terms
    inner join data_elements
        on indicator_terms.data_element = data_elements.data_element
    where indicator_terms.term_role = 'numerator'
    group by indicator_terms.indicator_code

),

final as (

    select
        indicators.indicator_code,
        indicators.domain_code,
        domains.domain_name_vi,
        domains.domain_name_en,
        indicators.name_vi,
        indicators.name_en,
        indicators.indicator_level as level,
        indicators.numerator_formula,
        indicators.denominator_formula,
        indicators.multiplier,
        indicators.direction,
        indicators.goal_low,
        indicators.goal_high,
        indicators.target_2025,
        indicators.target_2030,
        indicators.indicator_weight as weight,
        indicators.unit_vi,
        indicators.unit_en,
        indicators.indicator_ordinal as ordinal,
        coalesce(sensitivity.is_sensitive, false) as is_sensitive,

    from indicators
    inner join domains
        on indicators.domain_code = domains.domain_code
    left join sensitivity
        on indicators.indicator_code = sensitivity.indicator_code

)

select * from final

-- Province values of every indicator, from counts (a rate is never averaged):
--   commune-level terms are summed over the province's communes that report ALL the
--   indicator's commune-level terms (matched pairs); province-level terms are the province's
--   own values. The value is null when a province-level term is missing, when the share of
--   communes with all terms is below var('min_commune_reporting_share'), or when the
--   denominator is 0; numerator and denominator are null too when the value is incomplete.
with

periods as (

    select * from {{ ref('int_periods') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

indicators as (

    select * from {{ ref('stg_ref__indicators') }}

),

indicator_terms as (

    select * from {{ ref('stg_ref__indicator_terms') }}

),

data_elements as (

    select * from {{ ref('stg_ref__data_elements') }}

),

commune_indicator_terms as (

    select * from {{ ref('int_commune_indicator_terms') }}

),

province_element_values as (

    select * from {{ ref('int_province_element_values') }}

),

provinces as (

    {{ provinces('admin_units') }}

),

commune_counts as (

    {{ communes_per_province('admin_units') }}

),

terms as (

    select
        indicator_terms.indicator_code,
        indicator_terms.term_role,
        indicator_terms.data_element,
        data_elements.element_level,

    from indicator_terms
    inner join data_elements
        on indicator_terms.data_element = data_elements.data_element

),

term_levels as (

    select
        indicator_code,
        count(*) filter (where element_level = 'commune') as commune_terms,
        count(*) filter (where element_level = 'province') as province_terms,

    from terms
    group by indicator_code

),

spine as (

    select
        periods.period,
        provinces.province_code,
        indicators.indicator_code,
        indicators.domain_code,
        indicators.multiplier,

    from periods
    cross join provinces
    cross join indicators

),

-- old communes the crosswalk cannot map (merged before 2025) are loaded onto their province only
-- (match_method 'province_only', summed per province): they count in the province's sums when they carry every
-- commune-level term of the indicator, never among its communes
province_only_pairs as (

    select
        data_values.period,
        data_values.unit_code as province_code,
        terms.indicator_code,
        sum(data_values.value) filter (where terms.term_role = 'numerator') as numerator,
        sum(data_values.value) filter (where terms.term_role = 'denominator') as denominator,

    from {{ ref('stg_raw__data_values') }} as data_values
    inner join terms
        on data_values.data_element = terms.data_element
        and terms.element_level = 'commune'
    inner join term_levels
        on terms.indicator_code = term_levels.indicator_code
    where data_values.match_method = 'province_only'
    group by data_values.period, data_values.unit_code, terms.indicator_code, term_levels.commune_terms
    having count(*) = term_levels.commune_terms

),

matched_pairs as (

    select
        period,
        province_code,
        indicator_code,
        count(*) filter (where has_all_terms and is_commune) as communes_complete,
        sum(numerator) filter (where has_all_terms) as numerator,
        sum(denominator) filter (where has_all_terms) as denominator,

    from (
        select period, province_code, indicator_code, has_all_terms, numerator, denominator, true as is_commune
        from commune_indicator_terms
        union all
        select period, province_code, indicator_code, true, numerator, denominator, false
        from province_only_pairs
    )
    group by period, province_code, indicator_code

),

province_term_values as (

    select
        spine.period,
        spine.province_code,
        spine.indicator_code,
        terms.term_role,
        province_element_values.value,

    from spine
    inner join terms
        on spine.indicator_code = terms.indicator_code
        and terms.element_level = 'province'
    left join province_element_values
        on spine.period = province_element_values.period
        and spine.province_code = province_element_values.province_code
        and terms.data_element = province_element_values.data_element

),

province_terms_summed as (

    select
        period,
        province_code,
        indicator_code,
        sum(value) filter (where term_role = 'numerator') as numerator,
        sum(value) filter (where term_role = 'denominator') as denominator,
        count(value) = count(*) as has_all_terms,

    from province_term_values
    group by period, province_code, indicator_code

),

joined as (

    select
        spine.period,
        spine.province_code,
        spine.indicator_code,
        spine.domain_code,
        spine.multiplier,
        term_levels.commune_terms,
        term_levels.province_terms,
        commune_counts.communes_total,
        coalesce(matched_pairs.communes_complete, 0) as communes_complete,
        matched_pairs.numerator as commune_numerator,
        matched_pairs.denominator as commune_denominator,
        province_terms_summed.numerator as province_numerator,
        province_terms_summed.denominator as province_denominator,
        coalesce(province_terms_summed.has_all_terms, false) as has_all_province_terms,

    from spine
    inner join term_levels
        on spine.indicator_code = term_levels.indicator_code
    left join commune_counts
        on spine.province_code = commune_counts.province_code
    left join matched_pairs
        on spine.period = matched_pairs.period
        and spine.province_code = matched_pairs.province_code
        and spine.indicator_code = matched_pairs.indicator_code
    left join province_terms_summed
        on spine.period = province_terms_summed.period
        and spine.province_code = province_terms_summed.province_code
        and spine.indicator_code = province_terms_summed.indicator_code

),

completeness as (

    select
        *,
        case
            when commune_terms > 0 then cast(communes_complete as double) / nullif(communes_total, 0)
        end as commune_reporting_share,
        coalesce(
            (
                commune_terms = 0
                or (
                    communes_complete > 0
                    and cast(communes_complete as double) / nullif(communes_total, 0)
                        >= cast({{ var('min_commune_reporting_share') }} as double)
                )
            )
            and (province_terms = 0 or has_all_province_terms),
            false
        ) as is_complete,

    from joined

),

summed as (

    select
        *,
        case
            when is_complete then coalesce(commune_numerator, 0) + coalesce(province_numerator, 0)
        end as numerator,
        case
            when is_complete then coalesce(commune_denominator, 0) + coalesce(province_denominator, 0)
        end as denominator,

    from completeness

),

final as (

    select
        period,
        province_code,
        indicator_code,
        domain_code,
        numerator,
        denominator,
        case when denominator <> 0 then numerator * multiplier / denominator end as value,
        communes_total,
        communes_complete,
        commune_reporting_share,
        is_complete,

    from summed

)

select * from final

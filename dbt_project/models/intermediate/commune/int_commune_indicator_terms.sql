-- For every period, commune and indicator with at least one commune-level term: the sums of the
-- commune-level numerator and denominator terms and whether each term is present. Province
-- values of commune counts are summed from here over the communes that have ALL the terms
-- (matched pairs), so numerator and denominator always cover the same communes. Values come from
-- int_commune_term_element_values: the reported values, except the element the child-friendly commune
-- assessment replaces (CHILD_FRIENDLY), which is the assessment's result where the commune is assessed.
with

periods as (

    select * from {{ ref('int_periods') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

indicator_terms as (

    select * from {{ ref('stg_ref__indicator_terms') }}

),

data_elements as (

    select * from {{ ref('stg_ref__data_elements') }}

),

commune_element_values as (

    select * from {{ ref('int_commune_term_element_values') }}

),

communes as (

    {{ communes('admin_units') }}

),

commune_terms as (

    select
        indicator_terms.indicator_code,
        indicator_terms.term_role,
        indicator_terms.data_element,

    from indicator_terms
    inner join data_elements
        on indicator_terms.data_element = data_elements.data_element
    where data_elements.element_level = 'commune'

),

term_values as (

    select
        periods.period,
        communes.unit_code,
        communes.province_code,
        commune_terms.indicator_code,
        commune_terms.term_role,
        commune_element_values.value,

    from periods
    cross join communes
    cross join commune_terms
    left join commune_element_values
        on periods.period = commune_element_values.period
        and communes.unit_code = commune_element_values.unit_code
        and commune_terms.data_element = commune_element_values.data_element

),

summed as (

    select
        period,
        unit_code,
        province_code,
        indicator_code,
        sum(value) filter (where term_role = 'numerator') as numerator,
        sum(value) filter (where term_role = 'denominator') as denominator,
        count(*) filter (where term_role = 'numerator') as numerator_terms,
        count(value) filter (where term_role = 'numerator') as numerator_terms_present,
        count(*) filter (where term_role = 'denominator') as denominator_terms,
        count(value) filter (where term_role = 'denominator') as denominator_terms_present,

    from term_values
    group by period, unit_code, province_code, indicator_code

),

final as (

    select
        period,
        unit_code,
        province_code,
        indicator_code,
        numerator,
        denominator,
        numerator_terms,
        numerator_terms_present,
        denominator_terms,
        denominator_terms_present,
        numerator_terms_present = numerator_terms as has_all_numerator_terms,
        denominator_terms_present = denominator_terms as has_all_denominator_terms,
        numerator_terms_present = numerator_terms
            and denominator_terms_present = denominator_terms as has_all_terms,

    from summed

)

select * from final

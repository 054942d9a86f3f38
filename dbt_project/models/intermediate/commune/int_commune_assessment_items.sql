-- Points of every item (chỉ tiêu) of the child-friendly commune assessment, per assessed period and
-- commune. An item's value is its yes/no element, the sum of its count elements, or
-- sum(numerator) x multiplier / sum(denominator); its points are those of the best band the value
-- satisfies (min: value >= bound; max: value <= bound), 0 when none, if_no_denominator_points when a
-- rate's denominator is 0, and null when an input is not reported (the commune is then not assessed).
-- Assessed periods: every period, or the years only (`periods: annual` in the assessment file).
with

periods as (

    select * from {{ ref('int_periods') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

assessment as (

    select * from {{ ref('stg_ref__assessment') }}

),

items as (

    select * from {{ ref('stg_ref__assessment_items') }}

),

terms as (

    select * from {{ ref('stg_ref__assessment_terms') }}

),

bands as (

    select * from {{ ref('stg_ref__assessment_bands') }}

),

commune_element_values as (

    select * from {{ ref('int_commune_element_values') }}

),

assessed_periods as (

    select periods.period
    from periods
    cross join assessment
    where assessment.periods_assessed = 'all'
        or regexp_full_match(periods.period, '[0-9]{4}')

),

communes as (

    {{ communes('admin_units') }}

),

term_values as (

    select
        assessed_periods.period,
        communes.unit_code,
        communes.province_code,
        terms.item_code,
        terms.term_role,
        terms.data_element,
        commune_element_values.value,

    from assessed_periods
    cross join communes
    cross join terms
    left join commune_element_values
        on assessed_periods.period = commune_element_values.period
        and communes.unit_code = commune_element_values.unit_code
        and terms.data_element = commune_element_values.data_element

),

summed as (

    select
        period,
        unit_code,
        province_code,
        item_code,
        sum(value) filter (where term_role = 'numerator') as numerator,
        sum(value) filter (where term_role = 'denominator') as denominator,
        count(value) = count(*) as has_all_inputs,
        string_agg(data_element, ', ' order by data_element) filter (where value is null) as missing_elements,

    from term_values
    group by period, unit_code, province_code, item_code

),

valued as (

    select
        summed.*,
        items.criterion_code,
        items.item_ordinal,
        items.input_kind,
        items.band_type,
        items.max_points,
        items.if_no_denominator_points,
        case
            when not summed.has_all_inputs then null
            when items.input_kind <> 'rate' then summed.numerator
            when summed.denominator <> 0 then summed.numerator * items.multiplier / summed.denominator
        end as value,
        summed.has_all_inputs and items.input_kind = 'rate' and summed.denominator = 0 as has_no_denominator,

    from summed
    inner join items
        on summed.item_code = items.item_code

),

band_points as (

    select
        valued.period,
        valued.unit_code,
        valued.item_code,
        max(bands.points) as points,

    from valued
    inner join bands
        on valued.item_code = bands.item_code
    where (valued.band_type = 'min' and valued.value >= bands.bound)
        or (valued.band_type = 'max' and valued.value <= bands.bound)
    group by valued.period, valued.unit_code, valued.item_code

),

final as (

    select
        valued.period,
        valued.unit_code,
        valued.province_code,
        valued.criterion_code,
        valued.item_code,
        valued.item_ordinal,
        valued.input_kind,
        valued.numerator,
        valued.denominator,
        valued.value,
        valued.has_all_inputs,
        valued.missing_elements,
        valued.max_points,
        case
            when not valued.has_all_inputs then null
            when valued.has_no_denominator then valued.if_no_denominator_points
            else coalesce(band_points.points, 0)
        end as points,

    from valued
    left join band_points
        on valued.period = band_points.period
        and valued.unit_code = band_points.unit_code
        and valued.item_code = band_points.item_code

)

select * from final

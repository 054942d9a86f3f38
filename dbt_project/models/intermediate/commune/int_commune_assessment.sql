-- The child-friendly commune assessment (Decision 06/QĐ-TTg) of every commune in every assessed
-- period. A commune is assessed when every input of every criterion is reported. It is recognised
-- when every criterion is met, no criterion scores 0 and the total reaches the threshold of its type
-- (ref.commune_types; a commune without a type has the default type). reason (Vietnamese) says why
-- not: the missing data elements, each criterion not met or at zero, the total below the threshold.
-- reported_recognised is the recognition the agency reported (the element the assessment replaces).
with

criterion_points as (

    select * from {{ ref('int_commune_assessment_criteria') }}

),

assessment as (

    select * from {{ ref('stg_ref__assessment') }}

),

thresholds as (

    select * from {{ ref('stg_ref__assessment_thresholds') }}

),

commune_types as (

    select * from {{ ref('stg_ref__commune_types') }}

),

commune_element_values as (

    select * from {{ ref('int_commune_element_values') }}

),

summed as (

    select
        period,
        unit_code,
        province_code,
        count(*) as criteria_total,
        count(*) filter (where is_complete) as criteria_assessed,
        count(*) filter (where is_met) as criteria_met,
        count(*) filter (where is_zero) as criteria_at_zero,
        sum(points) as points_of_criteria,
        string_agg(shortfall_vi, '; ' order by criterion_ordinal) as shortfalls_vi,
        nullif(
            array_to_string(list_sort(list_distinct(flatten(list(string_split(missing_elements, ', '))))), ', '),
            ''
        ) as missing_elements,

    from criterion_points
    group by period, unit_code, province_code

),

typed as (

    select
        summed.*,
        coalesce(commune_types.commune_type, assessment.default_commune_type) as commune_type,
        coalesce(commune_types.type_source, 'default') as commune_type_source,

    from summed
    cross join assessment
    left join commune_types
        on summed.unit_code = commune_types.unit_code

),

with_threshold as (

    select
        typed.*,
        thresholds.commune_type_name_vi,
        thresholds.min_total_points as threshold_points,
        typed.criteria_assessed = typed.criteria_total as is_assessed,

    from typed
    left join thresholds
        on typed.commune_type = thresholds.commune_type

),

reported as (

    select
        commune_element_values.period,
        commune_element_values.unit_code,
        commune_element_values.value = 1 as reported_recognised,

    from commune_element_values
    inner join assessment
        on commune_element_values.data_element = assessment.replaces_element

),

decided as (

    select
        with_threshold.*,
        case when with_threshold.is_assessed then with_threshold.points_of_criteria end as total_points,
        case
            when with_threshold.is_assessed
                then with_threshold.criteria_met = with_threshold.criteria_total
                    and with_threshold.criteria_at_zero = 0
                    and with_threshold.points_of_criteria >= with_threshold.threshold_points
        end as recognised,
        reported.reported_recognised,

    from with_threshold
    left join reported
        on with_threshold.period = reported.period
        and with_threshold.unit_code = reported.unit_code

),

final as (

    select
        period,
        unit_code,
        province_code,
        commune_type,
        commune_type_source,
        commune_type_name_vi,
        threshold_points,
        is_assessed,
        cast(criteria_total as integer) as criteria_total,
        cast(criteria_assessed as integer) as criteria_assessed,
        cast(criteria_met as integer) as criteria_met,
        cast(criteria_at_zero as integer) as criteria_at_zero,
        total_points,
        recognised,
        reported_recognised,
        case when not is_assessed then missing_elements end as missing_elements,
        case when is_assessed and total_points < threshold_points
            then 'Tổng điểm ' || replace(printf('%g', total_points), '.', ',') || ' dưới ngưỡng '
                || replace(printf('%g', threshold_points), '.', ',') || ' (' || commune_type_name_vi || ')'
        end as total_shortfall_vi,
        case
            when not is_assessed
                then 'Chưa đủ số liệu để đánh giá, thiếu: ' || missing_elements
            when recognised then null
            else concat_ws(
                '; ',
                shortfalls_vi,
                case when total_points < threshold_points
                    then 'Tổng điểm ' || replace(printf('%g', total_points), '.', ',') || ' dưới ngưỡng '
                        || replace(printf('%g', threshold_points), '.', ',') || ' (' || commune_type_name_vi || ')'
                end
            )
        end as reason,

    from decided

)

select * from final

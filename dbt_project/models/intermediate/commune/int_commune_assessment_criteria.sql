-- Points of every criterion (tiêu chuẩn) per assessed period and commune: the sum of its items' points,
-- null when an item lacks an input. met: points >= pass_points; is_zero: points = 0. shortfall_vi is
-- the Vietnamese text the reason of a commune not recognised gives for this criterion.
with

item_points as (

    select * from {{ ref('int_commune_assessment_items') }}

),

criteria as (

    select * from {{ ref('stg_ref__assessment_criteria') }}

),

summed as (

    select
        period,
        unit_code,
        province_code,
        criterion_code,
        bool_and(has_all_inputs) as is_complete,
        sum(points) as points_of_items,
        nullif(
            array_to_string(list_sort(list_distinct(flatten(list(string_split(missing_elements, ', '))))), ', '),
            ''
        ) as missing_elements,

    from item_points
    group by period, unit_code, province_code, criterion_code

),

assessed as (

    select
        summed.period,
        summed.unit_code,
        summed.province_code,
        summed.criterion_code,
        criteria.criterion_ordinal,
        criteria.criterion_name_vi,
        criteria.criterion_name_en,
        criteria.max_points,
        criteria.pass_points,
        criteria.is_sensitive,
        summed.is_complete,
        summed.missing_elements,
        case when summed.is_complete then summed.points_of_items end as points,

    from summed
    inner join criteria
        on summed.criterion_code = criteria.criterion_code

),

final as (

    select
        *,
        points >= pass_points as is_met,
        points = 0 as is_zero,
        case
            when points = 0
                then criterion_code || ' (' || criterion_name_vi || '): 0 điểm'
            when points < pass_points
                then criterion_code || ' (' || criterion_name_vi || '): '
                    || replace(printf('%g', points), '.', ',') || '/'
                    || replace(printf('%g', max_points), '.', ',') || ' điểm, chưa đạt (cần '
                    || replace(printf('%g', pass_points), '.', ',') || ')'
        end as shortfall_vi,

    from assessed

)

select * from final

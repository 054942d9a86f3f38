-- The child-friendly commune assessment at criterion grain: points, met, at zero, per assessed period,
-- commune and criterion (all communes; points and met null when an input is missing). Release source of
-- commune_assessment (disclosure control is applied by the release, pipelines/publish).
with

criterion_points as (

    select * from {{ ref('int_commune_assessment_criteria') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

final as (

    select
        criterion_points.period,
        criterion_points.unit_code as commune_code,
        admin_units.unit_name as commune_name,
        criterion_points.province_code,
        criterion_points.criterion_code,
        criterion_points.criterion_name_vi,
        criterion_points.criterion_name_en,
        criterion_points.criterion_ordinal,
        criterion_points.points,
        criterion_points.max_points,
        criterion_points.pass_points,
        criterion_points.is_met as met,
        criterion_points.is_zero,
        criterion_points.is_complete,
        criterion_points.is_sensitive,
        criterion_points.missing_elements,
        criterion_points.shortfall_vi,

    from criterion_points
    left join admin_units
        on criterion_points.unit_code = admin_units.unit_code

)

select * from final

-- The commune values that indicator terms read: int_commune_element_values, except that where a
-- commune is assessed, the assessment's recognition (1 recognised, 0 not) stands in for the reported
-- element the assessment file names (recognition.replaces_element, e.g. CHILD_FRIENDLY, the numerator
-- of R3_CHILD_FRIENDLY_COMMUNES), whether or not the agency reported it. value_source says where each
-- value comes from: reported, built_in or assessment.
with

commune_element_values as (

    select * from {{ ref('int_commune_element_values') }}

),

commune_assessment as (

    select * from {{ ref('int_commune_assessment') }}

),

assessment as (

    select * from {{ ref('stg_ref__assessment') }}

),

assessed as (

    select
        commune_assessment.period,
        commune_assessment.unit_code,
        commune_assessment.province_code,
        assessment.replaces_element as data_element,
        cast(case when commune_assessment.recognised then 1 else 0 end as double) as value,
        false as is_built_in,
        'assessment' as value_source,

    from commune_assessment
    cross join assessment
    where commune_assessment.is_assessed
        and assessment.replaces_element is not null

),

kept as (

    select
        commune_element_values.period,
        commune_element_values.unit_code,
        commune_element_values.province_code,
        commune_element_values.data_element,
        commune_element_values.value,
        commune_element_values.is_built_in,
        case when commune_element_values.is_built_in then 'built_in' else 'reported' end as value_source,

    from commune_element_values
    left join assessed
        on commune_element_values.period = assessed.period
        and commune_element_values.unit_code = assessed.unit_code
        and commune_element_values.data_element = assessed.data_element
    where assessed.unit_code is null

),

final as (

    select * from kept
    union all
    select * from assessed

)

select * from final

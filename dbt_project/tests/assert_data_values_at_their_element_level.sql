{{ config(severity='warn') }}

-- Data values sent for a unit of the wrong level (a commune-level element under a province
-- code, or the reverse) and values of built-in elements (unit_count) are not used by the
-- models. Ingest should have rejected them; this warns when some got through.
with

data_values as (

    select * from {{ ref('stg_raw__data_values') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

data_elements as (

    select * from {{ ref('stg_ref__data_elements') }}

),

final as (

    select
        data_values.period,
        data_values.unit_code,
        admin_units.unit_level,
        data_values.data_element,
        data_elements.element_level,
        data_elements.element_kind,
        data_values.source_file,
        data_values.source_row_number,

    from data_values
    inner join admin_units
        on data_values.unit_code = admin_units.unit_code
    inner join data_elements
        on data_values.data_element = data_elements.data_element
    where (admin_units.unit_level <> data_elements.element_level
        and data_values.match_method is distinct from 'province_only')
        or data_elements.element_kind = 'unit_count'

)

select * from final

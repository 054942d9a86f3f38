-- One value per period, commune and commune-level data element: the reported totals, plus the
-- built-in unit_count elements (e.g. COMMUNES), worth 1 for every commune of the reference units
-- in every period that has data. Data elements a record-level registry produced for a period come from
-- its records (int_registry_element_values), in place of any aggregate row (a conflict the gate blocks).
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

periods as (

    select * from {{ ref('int_periods') }}

),

registry_values as (

    select * from {{ ref('int_registry_element_values') }}

),

registry_elements as (

    select * from {{ ref('stg_raw__registry_elements') }}

),

communes as (

    {{ communes('admin_units') }}

),

reported as (

    select
        data_values.period,
        communes.unit_code,
        communes.province_code,
        data_values.data_element,
        data_values.value,
        false as is_built_in,

    from data_values
    inner join communes
        on data_values.unit_code = communes.unit_code
    inner join data_elements
        on data_values.data_element = data_elements.data_element
    where data_elements.element_level = 'commune'
        and data_elements.element_kind <> 'unit_count'
        and not exists (
            select 1 from registry_elements
            where registry_elements.period = data_values.period
                and registry_elements.data_element = data_values.data_element
        )

),

from_registries as (

    select
        period,
        unit_code,
        province_code,
        data_element,
        value,
        false as is_built_in,

    from registry_values

),

built_in as (

    select
        periods.period,
        communes.unit_code,
        communes.province_code,
        data_elements.data_element,
        cast(1 as double) as value,
        true as is_built_in,

    from periods
    cross join communes
    cross join data_elements
    where data_elements.element_kind = 'unit_count'

),

final as (

    select * from reported
    union all
    select * from from_registries
    union all
    select * from built_in

)

select * from final

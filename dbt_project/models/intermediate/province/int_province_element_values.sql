-- One value per period, province and data element: a province's own value of each
-- province-level element, and the sum of its communes' values of each commune-level element
-- (a data-value total, with the number of communes that reported it).
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

commune_element_values as (

    select * from {{ ref('int_commune_element_values') }}

),

provinces as (

    {{ provinces('admin_units') }}

),

commune_counts as (

    {{ communes_per_province('admin_units') }}

),

province_reported as (

    select
        data_values.period,
        provinces.province_code,
        data_values.data_element,
        'province' as element_level,
        data_values.value,
        cast(null as bigint) as communes_reporting,
        cast(null as bigint) as communes_total,

    from data_values
    inner join provinces
        on data_values.unit_code = provinces.province_code
    inner join data_elements
        on data_values.data_element = data_elements.data_element
    where data_elements.element_level = 'province'

),

-- old communes the crosswalk cannot map (merged before 2025), loaded onto their province only: they count in
-- the province's sum, not among its reporting communes
province_only as (

    select
        data_values.period,
        data_values.unit_code as province_code,
        data_values.data_element,
        data_values.value,
        0 as communes_reporting,

    from data_values
    inner join provinces
        on data_values.unit_code = provinces.province_code
    inner join data_elements
        on data_values.data_element = data_elements.data_element
    where data_elements.element_level = 'commune'
        and data_values.match_method = 'province_only'

),

commune_sums as (

    select
        period,
        province_code,
        data_element,
        sum(value) as value,
        cast(sum(communes_reporting) as bigint) as communes_reporting,

    from (
        select period, province_code, data_element, value, 1 as communes_reporting
        from commune_element_values
        union all
        select period, province_code, data_element, value, communes_reporting
        from province_only
    )
    group by period, province_code, data_element

),

commune_totals as (

    select
        commune_sums.period,
        commune_sums.province_code,
        commune_sums.data_element,
        'commune' as element_level,
        commune_sums.value,
        commune_sums.communes_reporting,
        commune_counts.communes_total,

    from commune_sums
    left join commune_counts
        on commune_sums.province_code = commune_counts.province_code

),

final as (

    select * from province_reported
    union all
    select * from commune_totals

)

select * from final

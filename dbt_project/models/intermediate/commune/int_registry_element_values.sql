-- Commune counts of the data elements produced by the record-level registries, by their rules:
-- births: `count` = every accepted record (LIVE_BIRTHS), `within_days` = registered at most `days`
-- days after birth (BIRTHS_REG_ONTIME). Every commune of a province the extract covers gets a value
-- (0 when none of its children is in the extract). Grain: period x commune x data element.
with

births as (

    select * from {{ ref('stg_raw__registry_births') }}

),

registry_elements as (

    select * from {{ ref('stg_raw__registry_elements') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

communes as (

    {{ communes('admin_units') }}

),

-- one row per commune and delay: the rules then read a small table, not the records
births_by_delay as (

    select
        period,
        commune_code,
        registration_delay_days,
        count(*) as records,

    from births
    group by all

),

covered_provinces as (

    select distinct
        births_by_delay.period,
        communes.province_code,

    from births_by_delay
    inner join communes
        on births_by_delay.commune_code = communes.unit_code

),

grid as (

    select
        covered_provinces.period,
        communes.unit_code,
        communes.province_code,
        registry_elements.data_element,
        registry_elements.rule,
        registry_elements.days,

    from covered_provinces
    inner join communes
        on covered_provinces.province_code = communes.province_code
    inner join registry_elements
        on covered_provinces.period = registry_elements.period
    where registry_elements.registry_code = 'births'

),

final as (

    select
        grid.period,
        grid.unit_code,
        grid.province_code,
        grid.data_element,
        cast(coalesce(sum(
            case
                when grid.rule = 'count' then births_by_delay.records
                when grid.rule = 'within_days'
                    and births_by_delay.registration_delay_days <= grid.days then births_by_delay.records
                else 0
            end
        ), 0) as double) as value,

    from grid
    left join births_by_delay
        on grid.period = births_by_delay.period
        and grid.unit_code = births_by_delay.commune_code
    group by all

)

select * from final

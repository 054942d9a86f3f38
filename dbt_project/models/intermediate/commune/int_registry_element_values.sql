-- Commune counts of the data elements produced by the record-level registries, by the rules of
-- methodology/registries.yaml, one code path for every registry:
--   count           every record;
--   within_days     records whose `to` date is at most `days` days after their `from` date (births
--                   registered within 60 days);
--   valid_on        children with a record valid on the period's last day, under `max_age_years` then
--                   (under-6 insured on 31 December);
--   all_before_age  children whose birthday of `age_years` falls in the period, with a record of every code
--                   of `codes` dated before it (all 8 antigens before the first birthday).
-- Record rules count records; child rules count each child (subject_key) once, in the commune of their
-- latest record that meets the rule. Every commune of a province a registry's extract covers gets a value
-- (0 when none of its records counts). Grain: period x commune x data element.
with

-- not materialized: these read tens of millions of records once each, streamed, never copied
records as not materialized (

    select * from {{ ref('stg_raw__registry_records') }}

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

ruled as not materialized (

    select
        records.period,
        records.registry_code,
        records.data_element,
        records.commune_code,
        records.subject_key,
        registry_elements.rule,
        -- the bit of the record's code among the rule's codes (all_before_age): a child's codes are a bit mask
        coalesce(1::bigint << (list_position(registry_elements.codes, records.code) - 1), 0) as code_bit,
        coalesce(records.event_date, records.from_date) as record_date,
        -- the birthday of all_before_age's age (a first birthday)
        cast(records.birth_date + to_years(registry_elements.age_years) as date) as age_day,
        case registry_elements.rule
            when 'count' then true
            when 'within_days' then datediff('day', records.from_date, records.to_date) <= registry_elements.days
            when 'valid_on' then records.from_date <= registry_elements.period_end
                and coalesce(records.to_date, registry_elements.period_end) >= registry_elements.period_end
                and records.birth_date <= registry_elements.period_end
                and (registry_elements.max_age_years is null
                    or cast(records.birth_date + to_years(registry_elements.max_age_years) as date)
                        > registry_elements.period_end)
            when 'all_before_age' then records.event_date
                < cast(records.birth_date + to_years(registry_elements.age_years) as date)
                and list_contains(registry_elements.codes, records.code)
        end as meets_rule,

    from records
    inner join registry_elements
        on records.period = registry_elements.period
        and records.registry_code = registry_elements.registry_code
        and records.data_element = registry_elements.data_element

),

-- count, within_days and a valid_on without key: one record, one unit
record_units as (

    select
        period,
        registry_code,
        data_element,
        commune_code,
        count(*) filter (where meets_rule) as value,

    from ruled
    where subject_key is null or rule in ('count', 'within_days')
    group by all

),

-- valid_on with key, all_before_age: one child, one unit, in the commune of their latest record meeting
-- the rule (a child meeting it nowhere: the commune of their latest record, counted 0 there)
subjects as (

    select
        period,
        registry_code,
        data_element,
        subject_key,
        arg_max(commune_code, (record_date, commune_code)) filter (where meets_rule) as rule_commune,
        arg_max(commune_code, (record_date, commune_code)) as last_commune,
        bit_count(coalesce(bit_or(code_bit) filter (where meets_rule), 0)) as codes_met,
        min(age_day) as age_day,

    from ruled
    where subject_key is not null and rule in ('valid_on', 'all_before_age')
    group by all

),

subject_units as (

    select
        subjects.period,
        subjects.registry_code,
        subjects.data_element,
        coalesce(subjects.rule_commune, subjects.last_commune) as commune_code,
        count(*) filter (where subjects.rule_commune is not null
            and (registry_elements.rule = 'valid_on'
                or (subjects.codes_met = len(registry_elements.codes)
                    and subjects.age_day between registry_elements.period_start and registry_elements.period_end)))
            as value,

    from subjects
    inner join registry_elements
        on subjects.period = registry_elements.period
        and subjects.registry_code = registry_elements.registry_code
        and subjects.data_element = registry_elements.data_element
    group by all

),

-- every commune with a record of the element, with its count (0: none of its records counts)
units as (

    select * from record_units
    union all
    select * from subject_units

),

covered_provinces as (

    select distinct
        units.period,
        units.registry_code,
        communes.province_code,

    from units
    inner join communes
        on units.commune_code = communes.unit_code

),

grid as (

    select
        covered_provinces.period,
        communes.unit_code,
        communes.province_code,
        registry_elements.registry_code,
        registry_elements.data_element,

    from covered_provinces
    inner join communes
        on covered_provinces.province_code = communes.province_code
    inner join registry_elements
        on covered_provinces.period = registry_elements.period
        and covered_provinces.registry_code = registry_elements.registry_code

),

final as (

    select
        grid.period,
        grid.unit_code,
        grid.province_code,
        grid.data_element,
        cast(coalesce(sum(units.value), 0) as double) as value,

    from grid
    left join units
        on grid.period = units.period
        and grid.registry_code = units.registry_code
        and grid.data_element = units.data_element
        and grid.unit_code = units.commune_code
    group by all

)

select * from final

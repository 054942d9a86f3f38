-- The data elements each registry produced for a period, by which rule and with which parameters
-- (methodology/registries.yaml), and the period's first and last days the rules read.
with

source as (

    select * from {{ source('raw', 'registry_elements') }}

),

renamed as (

    select
        cast(period as varchar) as period,
        cast(registry as varchar) as registry_code,
        cast(data_element as varchar) as data_element,
        cast(rule as varchar) as rule,
        cast(days as integer) as days,
        cast(json_extract(params, '$.max_age_years') as integer) as max_age_years,
        cast(json_extract(params, '$.age_years') as integer) as age_years,
        cast(json_extract_string(params, '$.codes[*]') as varchar[]) as codes,
        -- a year, or its first (H1) or second (H2) half
        make_date(cast(left(period, 4) as integer), if(period like '%H2', 7, 1), 1) as period_start,
        if(period like '%H1', make_date(cast(left(period, 4) as integer), 6, 30),
            make_date(cast(left(period, 4) as integer), 12, 31)) as period_end,

    from source

),

final as (

    select * from renamed

)

select * from final

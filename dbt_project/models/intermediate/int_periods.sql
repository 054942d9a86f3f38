-- The periods the models cover: every period with at least one total data value.
with

data_values as (

    select * from {{ ref('stg_raw__data_values') }}

),

final as (

    select distinct period
    from data_values

)

select * from final

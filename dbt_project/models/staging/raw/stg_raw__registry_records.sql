-- Accepted registry records by the data element they produce (raw.registry_rule_inputs, a view the registry
-- ingest declares from methodology/registries.yaml): the columns each rule reads, under the names of their
-- roles. subject_key is the keyed pseudonym of the child a child-level rule counts once; no other identifier.
with

source as (

    select * from {{ source('raw', 'registry_rule_inputs') }}

),

renamed as (

    select
        cast(period as varchar) as period,
        cast(registry_code as varchar) as registry_code,
        cast(data_element as varchar) as data_element,
        cast(commune_code as varchar) as commune_code,
        cast(subject_key as varchar) as subject_key,
        cast(from_date as date) as from_date,
        cast(to_date as date) as to_date,
        cast(event_date as date) as event_date,
        cast(birth_date as date) as birth_date,
        cast(code as varchar) as code,

    from source

),

final as (

    select * from renamed

)

select * from final

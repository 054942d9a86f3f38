-- Communes ranked within their province, with their child-friendly assessment. Grain: period x
-- commune, every commune in every period with data. rank() over the commune index rounded to
-- rank_decimals within the province: equal values share the better rank; tier: by share, rank range or
-- score within the province, as the methodology's tiers say (macro with_tiers). Recognition is null
-- in periods that are not assessed (half-years under `periods: annual`) and for communes lacking an
-- input; reason says why a commune is not recognised (or not assessed), in Vietnamese.
with

commune_index as (

    select * from {{ ref('int_commune_index') }}

),

commune_assessment as (

    select * from {{ ref('int_commune_assessment') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

tiers as (

    select * from {{ ref('stg_ref__tiers') }}

),

assessment as (

    select * from {{ ref('stg_ref__assessment') }}

),

ranked as (

    select
        period,
        unit_code,
        province_code,
        commune_index,
        index_rounded,
        indicators_used,
        indicators_total,
        not_ranked_reason,
        case
            when is_ranked
                then rank() over (partition by period, province_code, is_ranked order by index_rounded desc)
        end as rank_in_province,
        count(*) filter (where is_ranked) over (partition by period, province_code) as communes_ranked,

    from commune_index

),

tiered as (

    {{ with_tiers('ranked', 'tiers', 'rank_in_province', 'communes_ranked', 'index_rounded') }}

),

final as (

    select
        tiered.period,
        tiered.unit_code as commune_code,
        admin_units.unit_name as commune_name,
        tiered.province_code,
        tiered.commune_index as index,
        cast(tiered.rank_in_province as integer) as rank_in_province,
        cast(tiered.communes_ranked as integer) as communes_ranked,
        tiered.tier,
        tiered.tier_name_vi,
        tiered.tier_name_en,
        tiered.indicators_used,
        tiered.indicators_total,
        tiered.not_ranked_reason,
        coalesce(commune_assessment.is_assessed, false) as is_assessed,
        commune_assessment.commune_type,
        commune_assessment.commune_type_source,
        commune_assessment.threshold_points,
        commune_assessment.total_points,
        commune_assessment.criteria_met,
        commune_assessment.criteria_total,
        commune_assessment.recognised,
        commune_assessment.reported_recognised,
        commune_assessment.missing_elements,
        commune_assessment.total_shortfall_vi,
        case
            when not regexp_full_match(tiered.period, '[0-9]{4}')
                and exists (select 1 from assessment where periods_assessed = 'annual')
                then 'Kỳ báo cáo không đánh giá xã phù hợp với trẻ em (chỉ đánh giá theo năm)'
            else commune_assessment.reason
        end as reason,

    from tiered
    left join commune_assessment
        on tiered.period = commune_assessment.period
        and tiered.unit_code = commune_assessment.unit_code
    left join admin_units
        on tiered.unit_code = admin_units.unit_code

)

select * from final

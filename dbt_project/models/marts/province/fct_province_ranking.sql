-- All provinces in every period that has data, ranked or not. rank() over the PCRI rounded to
-- rank_decimals: equal values share the better rank. tier: by share, rank range or score, as the
-- methodology's tiers say (macro with_tiers); a tie at a boundary goes to the better group. rank_change = previous_rank - rank against
-- the previous period (the year before, or the half-year before).
with

province_pcri as (

    select * from {{ ref('int_province_pcri') }}

),

admin_units as (

    select * from {{ ref('stg_ref__admin_units') }}

),

tiers as (

    select * from {{ ref('stg_ref__tiers') }}

),

periods as (

    select * from {{ ref('stg_ref__periods') }}

),

provinces as (

    select
        unit_code as province_code,
        unit_name as province_name,

    from admin_units
    where unit_level = 'province'

),

ranked as (

    select
        period,
        province_code,
        pcri,
        pcri_rounded,
        indicators_used,
        indicators_total,
        not_ranked_reason,
        case
            when is_ranked then rank() over (partition by period, is_ranked order by pcri_rounded desc)
        end as rank,
        count(*) filter (where is_ranked) over (partition by period) as provinces_ranked,

    from province_pcri

),

tiered as (

    {{ with_tiers('ranked', 'tiers', 'rank', 'provinces_ranked', 'pcri_rounded') }}

),

with_previous as (

    select
        tiered.*,
        previous.rank as previous_rank,

    from tiered
    left join periods
        on tiered.period = periods.period
    left join tiered as previous
        on tiered.province_code = previous.province_code
        and previous.period = periods.previous_period

),

final as (

    select
        with_previous.period,
        with_previous.province_code,
        provinces.province_name,
        with_previous.pcri,
        cast(with_previous.rank as integer) as rank,
        with_previous.tier,
        with_previous.tier_name_vi,
        with_previous.tier_name_en,
        cast(with_previous.previous_rank as integer) as previous_rank,
        cast(with_previous.previous_rank - with_previous.rank as integer) as rank_change,
        with_previous.indicators_used,
        with_previous.indicators_total,
        with_previous.not_ranked_reason,

    from with_previous
    left join provinces
        on with_previous.province_code = provinces.province_code

)

select * from final

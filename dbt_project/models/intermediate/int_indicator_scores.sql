-- Indicator values of both levels with their 0-100 score. The normalisation comes from
-- ref.methodology: goalposts (fixed low/high per indicator), minmax (min/max over the units of
-- the same level and period) or zscore (50 + 10 z over the same units, sample standard
-- deviation). direction 'lower' flips the scale; scores are clipped to [0, 100]. Without spread
-- (minmax with max = min, zscore with a standard deviation of 0 or a single unit) the score is
-- null: the normalisation is undefined.
with

commune_values as (

    select * from {{ ref('int_commune_indicator_values') }}

),

province_values as (

    select * from {{ ref('int_province_indicator_values') }}

),

indicators as (

    select * from {{ ref('stg_ref__indicators') }}

),

methodology as (

    select * from {{ ref('stg_ref__methodology') }}

),

unioned as (

    select
        period,
        'commune' as unit_level,
        unit_code,
        province_code,
        indicator_code,
        domain_code,
        numerator,
        denominator,
        value,

    from commune_values

    union all

    select
        period,
        'province' as unit_level,
        province_code as unit_code,
        province_code,
        indicator_code,
        domain_code,
        numerator,
        denominator,
        value,

    from province_values

),

with_method as (

    select
        unioned.*,
        indicators.direction,
        indicators.goal_low,
        indicators.goal_high,
        indicators.indicator_weight,
        methodology.normalisation,

    from unioned
    inner join indicators
        on unioned.indicator_code = indicators.indicator_code
    cross join methodology

),

spread as (

    select
        *,
        min(value) over level_period as level_min,
        max(value) over level_period as level_max,
        avg(value) over level_period as level_mean,
        stddev_samp(value) over level_period as level_sd,

    from with_method
    window level_period as (partition by period, unit_level, indicator_code)

),

normalised as (

    select
        *,
        case normalisation
            when 'goalposts' then
                case direction
                    when 'higher' then 100.0 * (value - goal_low) / (goal_high - goal_low)
                    when 'lower' then 100.0 * (goal_high - value) / (goal_high - goal_low)
                end
            when 'minmax' then
                case
                    when level_max > level_min then
                        case direction
                            when 'higher' then 100.0 * (value - level_min) / (level_max - level_min)
                            when 'lower' then 100.0 * (level_max - value) / (level_max - level_min)
                        end
                end
            when 'zscore' then
                case
                    when level_sd > 0 then
                        case direction
                            when 'higher' then 50.0 + 10.0 * (value - level_mean) / level_sd
                            when 'lower' then 50.0 + 10.0 * (level_mean - value) / level_sd
                        end
                end
        end as normalised_value,

    from spread

),

final as (

    select
        period,
        unit_level,
        unit_code,
        province_code,
        indicator_code,
        domain_code,
        indicator_weight,
        numerator,
        denominator,
        value,
        normalised_value,
        -- greatest/least skip nulls: keep a missing score missing
        case
            when normalised_value is not null then least(greatest(normalised_value, 0.0), 100.0)
        end as score,

    from normalised

)

select * from final

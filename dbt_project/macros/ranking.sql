{#-
    The ranking rules shared by the provinces (fct_province_ranking, int_province_pcri) and the communes
    within their province (fct_commune_ranking, int_commune_index).
-#}

{#- A unit is ranked when it has enough indicators overall and in every domain, and an index. -#}
{% macro is_ranked(index) -%}
    (has_enough_indicators and domains_short = 0 and {{ index }} is not null)
{%- endmacro %}

{#- Why a unit is not ranked, in Vietnamese (null when it is ranked). -#}
{% macro not_ranked_reason(index) -%}
    case
        when indicators_used = 0 then 'Không có số liệu'
        when {{ is_ranked(index) }} then null
        else nullif(
            concat_ws(
                '; ',
                case
                    when not has_enough_indicators
                        then 'Chỉ có ' || indicators_used || '/' || indicators_total
                            || ' chỉ số (cần tối thiểu '
                            || replace(printf('%g', min_indicator_share * 100), '.', ',') || '%)'
                end,
                domain_shortfalls
            ),
            ''
        )
    end
{%- endmacro %}

{#-
    The rows of `ranked` with their tier: the first tier (in the `tiers` CTE, from stg_ref__tiers) whose
    max_rank_share reaches rank / number ranked. Unranked rows get no tier.
-#}
{% macro with_tiers(ranked, rank_column, count_column) -%}
    select
        {{ ranked }}.*,
        tiers.tier,
        tiers.tier_name_vi,
        tiers.tier_name_en,

    from {{ ranked }}
    left join tiers
        on tiers.tier = (
            select min(candidate.tier)
            from tiers as candidate
            where cast({{ ranked }}.{{ rank_column }} as double) / {{ ranked }}.{{ count_column }}
                <= candidate.max_rank_share + 1e-9
        )
{%- endmacro %}

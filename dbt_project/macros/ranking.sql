{#-
    The ranking rules shared by the provinces (fct_province_ranking, int_province_pcri) and the communes
    within their province (fct_commune_ranking, int_commune_index).
-#}

{#-
    A unit is ranked when it has enough indicators overall and in every domain, and an index: a row of
    `relation` with the columns has_enough_indicators, domains_short and `index`.
-#}
{% macro is_ranked(relation, index) -%}
    ({{ relation }}.has_enough_indicators and {{ relation }}.domains_short = 0 and {{ relation }}.{{ index }} is not null)
{%- endmacro %}

{#-
    Why a unit is not ranked, in Vietnamese (null when it is ranked): a row of `relation` with the columns of
    is_ranked and indicators_used, indicators_total, min_indicator_share and domain_shortfalls.
-#}
{% macro not_ranked_reason(relation, index) -%}
    case
        when {{ relation }}.indicators_used = 0 then 'Không có số liệu'
        when {{ is_ranked(relation, index) }} then null
        else nullif(
            concat_ws(
                '; ',
                case
                    when not {{ relation }}.has_enough_indicators
                        then 'Chỉ có ' || {{ relation }}.indicators_used || '/' || {{ relation }}.indicators_total
                            || ' chỉ số (cần tối thiểu '
                            || replace(printf('%g', {{ relation }}.min_indicator_share * 100), '.', ',') || '%)'
                end,
                {{ relation }}.domain_shortfalls
            ),
            ''
        )
    end
{%- endmacro %}

{#-
    The rows of `ranked` with their tier (from `tiers`, the rows of stg_ref__tiers; one basis per methodology
    version, pipelines/tiers.py): by share, the first tier whose max_rank_share reaches rank / number ranked;
    by rank ranges, the first tier whose ranks (min_rank to max_rank, the last open) hold the rank; by score,
    the first tier whose min_score the rounded index reaches. Ties share the better rank and the same rounded
    index, so a tie at a boundary goes to the better group. Unranked rows get no tier.
-#}
{% macro with_tiers(ranked, tiers, rank_column, count_column, score_column) -%}
    select
        {{ ranked }}.*,
        {{ tiers }}.tier,
        {{ tiers }}.tier_name_vi,
        {{ tiers }}.tier_name_en,

    from {{ ranked }}
    left join {{ tiers }}
        on {{ tiers }}.tier = (
            select min(candidate.tier)
            from {{ tiers }} as candidate
            where {{ ranked }}.{{ rank_column }} is not null
                and (
                    (candidate.max_rank_share is not null
                        and cast({{ ranked }}.{{ rank_column }} as double) / {{ ranked }}.{{ count_column }}
                            <= candidate.max_rank_share + 1e-9)
                    or (candidate.min_rank is not null
                        and (candidate.max_rank is null or {{ ranked }}.{{ rank_column }} <= candidate.max_rank))
                    or (candidate.min_score is not null
                        and {{ ranked }}.{{ score_column }} >= candidate.min_score - 1e-9)
                )
        )
{%- endmacro %}

{#-
    Why a domain of a unit has too few indicators (null when it has enough), from a row of `domain_scores`
    (domain_code, indicators_used, indicators_total) and of `methodology` (min_indicators_per_domain).
-#}
{% macro domain_shortfall(domain_scores, methodology) -%}
    case
        when {{ domain_scores }}.indicators_used >= {{ methodology }}.min_indicators_per_domain then null
        when {{ domain_scores }}.indicators_used = 0
            then 'Lĩnh vực ' || {{ domain_scores }}.domain_code || ' không có chỉ số nào'
        else 'Lĩnh vực ' || {{ domain_scores }}.domain_code || ' chỉ có '
            || {{ domain_scores }}.indicators_used || '/' || {{ domain_scores }}.indicators_total
            || ' chỉ số (cần tối thiểu ' || {{ methodology }}.min_indicators_per_domain || ')'
    end
{%- endmacro %}

{#-
    The columns of a unit's index over its rows of `domains` (grouped by unit; columns indicators_used,
    indicators_total, domain_shortfall, domain_ordinal, domain_weight, score, geometric_floor): indicators,
    domain shortfalls, and the weighted arithmetic mean and weighted geometric mean
    exp(sum w ln(max(score, geometric_floor)) / sum w) of the available domain scores.
-#}
{% macro index_aggregates(domains) -%}
        sum({{ domains }}.indicators_used) as indicators_used,
        sum({{ domains }}.indicators_total) as indicators_total,
        count({{ domains }}.domain_shortfall) as domains_short,
        string_agg({{ domains }}.domain_shortfall, '; ' order by {{ domains }}.domain_ordinal) as domain_shortfalls,
        {#- summed in domain order: a parallel sum's order would move the last bit from one run to the next #}
        sum({{ domains }}.domain_weight * {{ domains }}.score order by {{ domains }}.domain_ordinal)
            filter (where {{ domains }}.score is not null)
            / nullif(sum({{ domains }}.domain_weight order by {{ domains }}.domain_ordinal)
                filter (where {{ domains }}.score is not null), 0)
            as index_arithmetic,
        exp(
            sum({{ domains }}.domain_weight * ln(greatest({{ domains }}.score, {{ domains }}.geometric_floor))
                order by {{ domains }}.domain_ordinal)
                filter (where {{ domains }}.score is not null)
            / nullif(sum({{ domains }}.domain_weight order by {{ domains }}.domain_ordinal)
                filter (where {{ domains }}.score is not null), 0)
        ) as index_geometric,
{%- endmacro %}

{#- Enough indicators overall: a row of `aggregated` (indicators_used, indicators_total) and of `methodology`. -#}
{% macro has_enough_indicators(aggregated, methodology) -%}
    ({{ aggregated }}.indicators_total > 0
        and cast({{ aggregated }}.indicators_used as double) / {{ aggregated }}.indicators_total + 1e-9
            >= {{ methodology }}.min_indicator_share)
{%- endmacro %}

{#-
    The index under the methodology's aggregation: a row of `aggregated` (index_arithmetic, index_geometric) and
    of `methodology` (aggregation).
-#}
{% macro aggregated_index(aggregated, methodology) -%}
    case {{ methodology }}.aggregation
        when 'arithmetic' then {{ aggregated }}.index_arithmetic
        when 'geometric' then {{ aggregated }}.index_geometric
    end
{%- endmacro %}

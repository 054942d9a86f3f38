"""The robustness engine's nominal PCRI is the dbt models' PCRI: both run on the same small warehouse.

The hand-made rows of tests/test_dbt_models.py (three provinces, two communes each, two periods) go through
dbt; the engine then recomputes the PCRI and the ranks from the province indicator values dbt wrote, under
the nominal method, and both must agree for every province and period.
"""

from __future__ import annotations

import copy

import duckdb
import numpy as np
import pytest

from pipelines.methodology import load_methodology
from pipelines.robustness import load_uncertainty
from pipelines.robustness.engine import IndexModel, nominal_evaluation
from pipelines.settings import DEFAULT_METHODOLOGY
from tests.test_dbt_models import ASSIGNMENT, MIN_INDICATOR_SHARE, built_hand_made

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The dbt build over the hand-made rows that ``test_dbt_models`` checks by hand (one build a session)."""
    warehouse, _, result = built_hand_made(tmp_path_factory)
    assert result["returncode"] == 0, result["stdout"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        values = con.execute("select period, unit_code as province_code, indicator_code, value "
                             "from marts.fct_indicator_values where unit_level = 'province'").df()
        ranking = con.execute("select period, province_code, pcri, rank from marts.fct_province_ranking "
                              "where rank is not null").df()
    return values, ranking


@pytest.mark.parametrize("period", sorted(ASSIGNMENT))
def test_engine_nominal_pcri_equals_dbt_pcri(built, period):
    values, ranking = built
    m = copy.deepcopy(load_methodology(DEFAULT_METHODOLOGY))  # the loaded methodology is shared (cached)
    m.method["min_indicator_share"] = MIN_INDICATOR_SHARE
    dbt = ranking[ranking.period == period].set_index("province_code")
    assert sorted(dbt.index) == sorted(ASSIGNMENT[period])  # every hand-made province is ranked by dbt
    model = IndexModel.build(values[values.period == period].drop(columns="period"), m, load_uncertainty(m))
    nominal = nominal_evaluation(model)
    assert model.ranked_provinces and set(model.ranked_provinces) == set(dbt.index)
    engine = dict(zip(model.provinces, nominal.pcri[0]))
    for province, row in dbt.iterrows():  # fct_province_ranking keeps the PCRI at full precision
        assert engine[province] == pytest.approx(row.pcri, abs=1e-9), province
    np.testing.assert_array_equal(nominal.ranks[0], [int(dbt.loc[p, "rank"]) for p in model.ranked_provinces])

"""The synthetic demo landing data: layout, completeness, internal consistency, realism."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.demo import SMALL_PROVINCES, write_demo_data
from pipelines.methodology import load_methodology, parse_methodology
from pipelines.reference.units import admin_units
from pipelines.settings import DEFAULT_METHODOLOGY

METHODOLOGY = load_methodology(DEFAULT_METHODOLOGY)
BOM = b"\xef\xbb\xbf"
HEADER = "period,unit_code,unit_name,data_element,value"
HA_NOI, LAI_CHAU = "01", "12"


def read_landing(root: Path) -> pd.DataFrame:
    frames = [
        pd.read_csv(f, dtype={"period": str, "unit_code": str}, encoding="utf-8-sig", keep_default_na=False)
        for f in sorted(root.rglob("*.csv"))
    ]
    return pd.concat(frames, ignore_index=True)


def unit_values(data: pd.DataFrame, period: str, methodology=METHODOLOGY) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(communes, provinces): one row per unit, one column per data element.

    A province carries its own province-level elements and the sums of its
    communes' commune-level elements; unit counts are 1 per commune.
    """
    wide = data[data.period == period].pivot(index="unit_code", columns="data_element", values="value")
    communes = wide[wide.index.str.len() == 5].copy()
    for e in methodology.data_elements:
        if e.kind == "unit_count":
            communes[e.code] = 1
    commune_codes = [e.code for e in methodology.data_elements if e.level == "commune" and e.code in communes]
    province_of = admin_units().set_index("unit_code").province_code
    provinces = communes[commune_codes].groupby(province_of.reindex(communes.index).to_numpy()).sum()
    own = wide[wide.index.str.len() == 2]
    own = own[[e.code for e in methodology.data_elements if e.level == "province" and e.code in own]]
    return communes, provinces.join(own, how="outer")


def ratio_indicators(methodology=METHODOLOGY):
    """Indicators whose numerator counts a subset of what the denominator counts (no money terms)."""
    kinds = {e.code: e.kind for e in methodology.data_elements}
    return [i for i in methodology.indicators if all(kinds[t] != "amount_vnd" for t in i.numerator + i.denominator)]


def indicator_values(table: pd.DataFrame, code: str) -> pd.Series:
    ind = next(i for i in METHODOLOGY.indicators if i.code == code)
    return table[list(ind.numerator)].sum(axis=1) / table[list(ind.denominator)].sum(axis=1) * ind.multiplier


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing_full")
    summary = write_demo_data(root, periods=("2024", "2025"))
    return root, summary, read_landing(root)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing_small")
    summary = write_demo_data(root, periods=("2025",), small=True)
    return root, summary, read_landing(root)


# -- layout and format -----------------------------------------------------------
def test_layout_one_file_per_sector_and_period(full):
    root, summary, _ = full
    sectors = {e.sector for e in METHODOLOGY.data_elements if e.kind != "unit_count"}
    expected = {root / p / s / f"{s}_{p}.csv" for p in ("2024", "2025") for s in sectors}
    assert set(root.rglob("*")) - {p for p in root.rglob("*") if p.is_dir()} == expected
    assert set(summary.files) == expected


def test_files_are_utf8_with_bom_and_the_landing_header(full):
    root, summary, _ = full
    for path in summary.files:
        raw = path.read_bytes()
        assert raw.startswith(BOM), path
        assert raw[len(BOM):].decode("utf-8").splitlines()[0] == HEADER, path


def test_values_are_plain_non_negative_integers(full):
    root, summary, _ = full
    for path in summary.files:
        text = path.read_bytes()[len(BOM):].decode("utf-8")
        values = [line.rsplit(",", 1)[1] for line in text.splitlines()[1:]]
        assert all(v.isdigit() for v in values), path


def test_period_column_and_sector_match_the_folder(full):
    root, _, data = full
    by_code = METHODOLOGY.elements_by_code
    for path in root.rglob("*.csv"):
        period, sector = path.parent.parent.name, path.parent.name
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        assert set(frame.period) == {period}
        assert {by_code[c].sector for c in frame.data_element} == {sector}


def test_unit_names_are_the_official_nfc_names(full):
    _, _, data = full
    names = admin_units().set_index("unit_code").unit_name
    assert (data.unit_name == names.reindex(data.unit_code).to_numpy()).all()
    assert all(unicodedata.is_normalized("NFC", n) for n in data.unit_name.unique())


def test_summary_counts_what_was_written(full):
    root, summary, data = full
    assert summary.total_rows == len(data)
    for (period, sector), rows in summary.rows.items():
        assert rows == len(pd.read_csv(root / period / sector / f"{sector}_{period}.csv", encoding="utf-8-sig"))
    assert len(summary.provinces) == 34 and summary.communes == 3321
    assert summary.population_fallback == ()
    assert summary.seconds < 30


# -- completeness ------------------------------------------------------------------
@pytest.mark.parametrize("period", ["2024", "2025"])
def test_every_element_for_every_unit_of_its_level(full, period):
    _, _, data = full
    units = admin_units()
    codes = {level: set(units.unit_code[units.unit_level == level]) for level in ("commune", "province")}
    d = data[data.period == period]
    assert not d.duplicated(["unit_code", "data_element"]).any()
    for e in METHODOLOGY.data_elements:
        written = set(d.unit_code[d.data_element == e.code])
        if e.kind == "unit_count":
            assert written == set(), f"{e.code} is built in and must not be written"
        else:
            assert written == codes[e.level], e.code


def test_yes_no_elements_are_0_or_1(full):
    _, _, data = full
    yes_no = [e.code for e in METHODOLOGY.data_elements if e.kind == "yes_no"]
    values = data.value[data.data_element.isin(yes_no)]
    assert set(values) == {0, 1}


# -- internal consistency ---------------------------------------------------------
@pytest.mark.parametrize("period", ["2024", "2025"])
def test_age_groups_add_up_exactly(full, period):
    communes, _ = unit_values(full[2], period)
    parts = ["POP_AGE_0", "POP_AGE_1_4", "POP_AGE_5", "POP_AGE_6", "POP_AGE_7_15"]
    assert (communes[parts].sum(axis=1) == communes.POP_0_15).all()
    assert (communes.POP_0_15 > 0).all()


@pytest.mark.parametrize("period", ["2024", "2025"])
def test_no_numerator_exceeds_its_denominator(full, period):
    communes, provinces = unit_values(full[2], period)
    checked = 0
    for ind in ratio_indicators():
        level = METHODOLOGY.indicator_level(ind)
        tables = [("province", provinces)] + ([("commune", communes)] if level == "commune" else [])
        for name, table in tables:
            num = table[list(ind.numerator)].sum(axis=1)
            den = table[list(ind.denominator)].sum(axis=1)
            bad = num[num > den]
            assert bad.empty, f"{ind.code} at {name} level: {bad.head().to_dict()}"
            checked += 1
    assert checked >= len(METHODOLOGY.indicators)


def test_the_brief_pairs_hold_per_commune(full):
    communes, _ = unit_values(full[2], "2025")
    c = communes
    under5 = c.POP_AGE_0 + c.POP_AGE_1_4
    pairs = [
        (c.IMMUNISED_FULL_U1, c.POP_AGE_0), (c.STUNTED_U5, c.MEASURED_U5), (c.UNDERWEIGHT_U5, c.MEASURED_U5),
        (c.MEASURED_U5, under5), (c.CSC_HELPED, c.CSC_TOTAL), (c.INSURED_U6, under5 + c.POP_AGE_5),
        (c.ENROLLED_AGE5, c.POP_AGE_5), (c.LSEC_COMPLETERS, c.LSEC_COHORT), (c.BIRTHS_REG_ONTIME, c.LIVE_BIRTHS),
        (c.DEATHS_U5, c.LIVE_BIRTHS), (c.VILLAGES_CP_VOLUNTEER, c.VILLAGES), (c.VILLAGES_CULTURE, c.VILLAGES),
        (c.CHILDREN_CONSULTED, c.POP_AGE_7_15),
    ]
    for num, den in pairs:
        assert (num <= den).all(), num.name


def test_consistency_rules_of_the_methodology_hold(full):
    rules = getattr(METHODOLOGY, "consistency_rules", ())
    if not rules:
        pytest.skip("the methodology declares no consistency rules")
    communes, provinces = unit_values(full[2], "2025")
    for rule in rules:
        table = communes if rule["level"] == "commune" else provinces
        total = table[rule["total"]]
        parts = table[list(rule["parts"])].sum(axis=1)
        assert ((total - parts).abs() <= rule["tolerance_share"] * total).all(), rule["code"]


# -- plausibility ----------------------------------------------------------------
def test_national_rates_are_near_the_published_figures(full):
    _, provinces = unit_values(full[2], "2025")
    national = provinces.sum().to_frame().T
    expected = {
        "H1_U5_MORTALITY": (15, 30),
        "H2_FULL_IMMUNISATION": (90, 99),
        "H3_STUNTING_U5": (12, 25),
        "P5_BIRTH_REG_ONTIME": (95, 100),
        "V1_KINDERGARTEN_AGE5": (97, 99.5),
    }
    for code, (low, high) in expected.items():
        assert low <= indicator_values(national, code).iloc[0] <= high, code


def test_sensitive_counts_are_small_and_some_fall_in_the_suppressed_range(full):
    communes, _ = unit_values(full[2], "2025")
    for e in METHODOLOGY.data_elements:
        if e.sensitive and e.level == "commune":
            values = communes[e.code]
            assert values.median() <= 2, e.code
            assert values.quantile(0.9) <= 6, e.code
            assert values.between(1, 4).mean() > 0.2, e.code


def test_province_children_are_about_a_quarter_of_the_population(full):
    _, provinces = unit_values(full[2], "2025")
    assert 20_000_000 < provinces.POP_0_15.sum() < 30_000_000
    # wards are more populous than rural communes
    communes, _ = unit_values(full[2], "2025")
    kind = admin_units().set_index("unit_code").division_type.reindex(communes.index)
    assert communes.POP_0_15[kind == "phường"].median() > communes.POP_0_15[kind == "xã"].median()


def test_ha_noi_immunises_more_than_lai_chau(full):
    communes, _ = unit_values(full[2], "2025")
    rate = communes.IMMUNISED_FULL_U1 / communes.POP_AGE_0
    province = admin_units().set_index("unit_code").province_code.reindex(communes.index)
    assert rate[province == HA_NOI].mean() > rate[province == LAI_CHAU].mean()


def test_ha_noi_is_better_than_lai_chau_on_most_indicators(full):
    _, provinces = unit_values(full[2], "2025")
    better = 0
    for ind in METHODOLOGY.indicators:
        v = indicator_values(provinces, ind.code)
        better += (v[HA_NOI] > v[LAI_CHAU]) if ind.direction == "higher" else (v[HA_NOI] < v[LAI_CHAU])
    assert better >= 0.8 * len(METHODOLOGY.indicators)


def test_2025_is_generally_better_than_2024(full):
    _, p24 = unit_values(full[2], "2024")
    _, p25 = unit_values(full[2], "2025")
    n24, n25 = p24.sum().to_frame().T, p25.sum().to_frame().T
    improved = 0
    for ind in METHODOLOGY.indicators:
        v24, v25 = indicator_values(n24, ind.code).iloc[0], indicator_values(n25, ind.code).iloc[0]
        improved += (v25 > v24) if ind.direction == "higher" else (v25 < v24)
    assert improved > len(METHODOLOGY.indicators) / 2


def test_province_orderings_differ_between_years(full):
    _, p24 = unit_values(full[2], "2024")
    _, p25 = unit_values(full[2], "2025")
    order24 = indicator_values(p24, "H2_FULL_IMMUNISATION").sort_values().index.tolist()
    order25 = indicator_values(p25, "H2_FULL_IMMUNISATION").sort_values().index.tolist()
    assert sorted(order24) == sorted(order25)
    assert order24 != order25


# -- determinism -------------------------------------------------------------------
def files_bytes(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_same_seed_writes_identical_bytes(full, tmp_path):
    root, _, _ = full
    write_demo_data(tmp_path / "again", periods=("2024",))
    again = files_bytes(tmp_path / "again")
    first = {k: v for k, v in files_bytes(root).items() if k.parts[0] == "2024"}
    assert again == first  # also: a period's files do not depend on the other periods written


def test_another_seed_writes_other_values(tmp_path):
    write_demo_data(tmp_path / "a", periods=("2025",), small=True, seed=1)
    write_demo_data(tmp_path / "b", periods=("2025",), small=True, seed=2)
    assert files_bytes(tmp_path / "a") != files_bytes(tmp_path / "b")


# -- small mode --------------------------------------------------------------------
def test_small_mode_has_three_provinces_of_four_communes(small):
    _, summary, data = small
    assert set(SMALL_PROVINCES) == {HA_NOI, "08", LAI_CHAU}
    units = admin_units()
    communes = units[units.unit_level == "commune"]
    expected = set(
        communes[communes.province_code.isin(SMALL_PROVINCES)].sort_values("unit_code")
        .groupby("province_code").head(4).unit_code
    )
    written = data.unit_code.unique()
    assert set(c for c in written if len(c) == 5) == expected
    assert len(expected) == 12
    assert set(c for c in written if len(c) == 2) == set(SMALL_PROVINCES)
    assert summary.communes == 12 and set(summary.provinces) == set(SMALL_PROVINCES)


def test_small_mode_has_every_element_for_its_units(small):
    _, _, data = small
    for e in METHODOLOGY.data_elements:
        if e.kind == "unit_count":
            continue
        units = set(data.unit_code[data.data_element == e.code])
        assert len(units) == (12 if e.level == "commune" else 3), e.code


def test_small_mode_communes_match_the_full_set(small, full):
    """The small set is a cut of the national one: same values for the same communes."""
    key = ["unit_code", "data_element"]
    s = small[2][small[2].unit_code.str.len() == 5].set_index(key).value
    f = full[2][full[2].period == "2025"].set_index(key).value
    assert (s == f.reindex(s.index)).all()


def test_small_mode_budget_per_child_is_plausible(small):
    _, provinces = unit_values(small[2], "2025")
    budget = indicator_values(provinces, "R1_BUDGET_PER_CHILD")
    assert budget.between(10_000, 1_000_000).all()


# -- periods and methodology changes -----------------------------------------------
def test_half_year_periods_work_and_carry_half_the_events(tmp_path):
    write_demo_data(tmp_path, periods=("2025H1", "2025"), small=True)
    data = read_landing(tmp_path)
    assert (tmp_path / "2025H1" / "health" / "health_2025H1.csv").exists()
    assert set(data.period) == {"2025H1", "2025"}
    births = data[data.data_element == "LIVE_BIRTHS"].groupby("period").value.sum()
    assert 0.35 < births["2025H1"] / births["2025"] < 0.65


@pytest.mark.parametrize("period", ["25", "2025Q1", "2025H3", ""])
def test_bad_periods_are_refused(tmp_path, period):
    with pytest.raises(ValueError):
        write_demo_data(tmp_path, periods=(period,), small=True)
    assert not any(tmp_path.iterdir())


def test_elements_added_to_the_methodology_get_plausible_values(tmp_path):
    doc = yaml.safe_load(Path(DEFAULT_METHODOLOGY).read_text(encoding="utf-8"))
    doc["sectors"].append({"code": "labour", "name_vi": "Lao động", "name_en": "Labour"})
    doc["data_elements"] += [
        {"code": "DEWORMED_1_4", "sector": "health", "level": "commune", "kind": "count",
         "name_vi": "Số trẻ 1-4 tuổi được tẩy giun", "name_en": "Children 1-4 dewormed"},
        {"code": "CHILD_LABOUR", "sector": "labour", "level": "commune", "kind": "count",
         "name_vi": "Số trẻ em lao động", "name_en": "Child labourers"},
        {"code": "SAFE_SCHOOLS", "sector": "education", "level": "commune", "kind": "yes_no",
         "name_vi": "Xã có trường học an toàn", "name_en": "Commune has safe schools"},
        {"code": "CP_FUND_VND", "sector": "finance", "level": "province", "kind": "amount_vnd",
         "name_vi": "Quỹ bảo trợ trẻ em", "name_en": "Child-protection fund"},
        {"code": "SURVEYS", "sector": "statistics", "level": "commune", "kind": "count",
         "name_vi": "Số cuộc điều tra", "name_en": "Surveys"},
    ]
    base = {"domain": "D2", "multiplier": 100, "goalposts": {"low": 0, "high": 100}, "weight": 1,
            "name_vi": "x", "name_en": "x"}
    doc["indicators"] += [
        {**base, "code": "H9_DEWORMED", "numerator": ["DEWORMED_1_4"], "denominator": ["POP_AGE_1_4"],
         "direction": "higher"},
        {**base, "code": "P9_CHILD_LABOUR", "domain": "D3", "numerator": ["CHILD_LABOUR"],
         "denominator": ["POP_AGE_7_15"], "direction": "lower", "multiplier": 100000,
         "goalposts": {"low": 0, "high": 500}},
    ]
    methodology = parse_methodology(doc, Path("test.yaml"), "0" * 64)
    summary = write_demo_data(tmp_path / "new", periods=("2025",), small=True, methodology=methodology)
    assert (tmp_path / "new" / "2025" / "labour" / "labour_2025.csv") in summary.files
    data = read_landing(tmp_path / "new")
    communes, provinces = unit_values(data, "2025", methodology)
    for code in ("DEWORMED_1_4", "CHILD_LABOUR", "SAFE_SCHOOLS", "SURVEYS"):
        assert communes[code].notna().all() and len(communes) == 12, code
    assert provinces.CP_FUND_VND.notna().all() and (provinces.CP_FUND_VND > 0).all()
    assert set(communes.SAFE_SCHOOLS) <= {0, 1}
    assert (communes.DEWORMED_1_4 <= communes.POP_AGE_1_4).all()
    assert (communes.DEWORMED_1_4 > 0.3 * communes.POP_AGE_1_4).all()
    assert (communes.CHILD_LABOUR <= communes.POP_AGE_7_15).all()
    # existing elements keep their values: each element has its own random stream
    write_demo_data(tmp_path / "original", periods=("2025",), small=True)
    original = read_landing(tmp_path / "original")
    key = ["unit_code", "data_element"]
    merged = original.merge(data, on=key, suffixes=("_old", "_new"))
    assert len(merged) == len(original)
    assert (merged.value_old == merged.value_new).all()

"""Release library: tables, files, versions, atomic writes, manifest, verification, dictionary.

Every test builds a tiny warehouse in tmp_path with the marts of the
architecture contract (3 provinces, a few communes) and publishes from it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.methodology import load_methodology
from pipelines.files import round_half_up
from pipelines.publish import contract
from pipelines.publish.contract import ContractError
from pipelines.publish.dictionary import column_dictionary, dictionary_frame, indicator_dictionary
from pipelines.publish.disclosure import DisclosureRule, audit
from pipelines.sensitive import sensitive_indicator_codes
from pipelines.publish.provenance import code_version
from pipelines.publish.release import ReleaseError, build_release_tables, publish_period, write_release
from pipelines.publish.verify import list_releases, verify_release
from pipelines.settings import DEFAULT_METHODOLOGY, Settings
from pipelines.warehouse import connect, ensure_schema, replace_table

PERIOD = "2025"
BOM = b"\xef\xbb\xbf"

PROVINCES = {"01": "Thành phố Hà Nội", "04": "Cao Bằng", "79": "Thành phố Hồ Chí Minh"}
COMMUNES = {
    "01": [("00004", "Phường Ba Đình"), ("00008", "Phường Ngọc Hà"), ("00070", "Phường Hoàn Kiếm"),
           ("00073", "Phường Cửa Nam"), ("00256", "Phường Hai Bà Trưng")],
    # stored decomposed (NFD) on purpose: releases must carry NFC
    "04": [("01273", unicodedata.normalize("NFD", "Phường Thục Phán")), ("01279", "Xã Bảo Lạc"),
           ("01288", "Xã Quảng Uyên"), ("01290", "Xã Trà Lĩnh")],
    "79": [("26734", "Phường Sài Gòn"), ("26740", "Phường Bến Thành"), ("26743", "Xã Cần Giờ"),
           ("26746", "Xã Thạnh An")],
}
# numerators of the sensitive indicators per commune, in the order above
ABUSE = {"01": [3, 0, 7, 12, 0], "04": [2, 1, 0, 9], "79": [0, 5, 6, 0]}
CONFLICT = {"01": [0, 0, 0, 0, 0], "04": [4, 6, 8, 0], "79": [5, 0, 10, 0]}


@pytest.fixture(scope="module")
def methodology():
    return load_methodology(DEFAULT_METHODOLOGY)


def _score(ind, value):
    if value is None:
        return None
    s = 100 * (value - ind.goal_low) / (ind.goal_high - ind.goal_low)
    if ind.direction == "lower":
        s = 100 - s
    return max(0.0, min(100.0, s))


def _indicator_rows(methodology, period):
    rows = []
    sensitive_num = {"P2_ABUSE_RATE": ABUSE, "P3_CONFLICT_LAW_RATE": CONFLICT}
    for n_ind, ind in enumerate(methodology.indicators):
        level = methodology.indicator_level(ind)
        for p_code, communes in COMMUNES.items():
            commune_rows = []
            for n_c, (c_code, c_name) in enumerate(communes):
                if level != "commune":
                    break
                if ind.code in sensitive_num:
                    num = float(sensitive_num[ind.code][p_code][n_c])
                    den = 4000.0 + 500 * n_c
                elif ind.code == "H1_U5_MORTALITY":
                    num, den = 3.0, 150.0 + 10 * n_c  # a small count of a non-sensitive indicator
                else:
                    den = 200.0 + 37 * n_c + n_ind
                    num = float(round(den * (0.5 + 0.05 * ((n_c + n_ind) % 7))))
                commune_rows.append((c_code, c_name, num, den))
            for c_code, c_name, num, den in commune_rows:
                value = num / den * ind.multiplier if den else None
                rows.append((period, "commune", c_code, c_name, p_code, ind.code, ind.domain, num, den, value,
                             _score(ind, value)))
            if commune_rows:
                num = sum(r[2] for r in commune_rows)
                den = sum(r[3] for r in commune_rows)
            else:
                num, den = 9.0e9 + 1e9 * int(p_code) / 79, 123456.0  # province-level budget
            value = num / den * ind.multiplier
            rows.append((period, "province", p_code, PROVINCES[p_code], p_code, ind.code, ind.domain, num, den,
                         value, _score(ind, value)))
    return pd.DataFrame(rows, columns=["period", "unit_level", "unit_code", "unit_name", "province_code",
                                       "indicator_code", "domain_code", "numerator", "denominator", "value", "score"])


def make_warehouse(path: Path, methodology, periods=(PERIOD, "2024")) -> Path:
    """A warehouse with ref.methodology, raw.ingest_files and the six marts of the architecture contract."""
    with connect(path) as con:
        ensure_schema(con)
        replace_table(con, "ref.methodology", methodology.tables()["methodology"])
        con.execute("create schema if not exists marts")
        units = [(p, "province", n, "tỉnh" if p == "04" else "thành phố trung ương", p, n)
                 for p, n in PROVINCES.items()]
        units += [(c, "commune", n, "xã" if n.startswith("Xã") else "phường", p, PROVINCES[p])
                  for p, cs in COMMUNES.items() for c, n in cs]
        replace_table(con, "marts.dim_admin_unit", pd.DataFrame(units, columns=[
            "unit_code", "unit_level", "unit_name", "division_type", "province_code", "province_name"]))
        sensitive = sensitive_indicator_codes(methodology)
        domains = {d.code: d for d in methodology.domains}
        dim = pd.DataFrame([{
            "indicator_code": i.code, "domain_code": i.domain, "domain_name_vi": domains[i.domain].name_vi,
            "domain_name_en": domains[i.domain].name_en, "name_vi": i.name_vi, "name_en": i.name_en,
            "level": methodology.indicator_level(i), "numerator_formula": " + ".join(i.numerator),
            "denominator_formula": " + ".join(i.denominator), "multiplier": i.multiplier, "direction": i.direction,
            "goal_low": i.goal_low, "goal_high": i.goal_high, "target_2025": i.target_2025,
            "target_2030": i.target_2030, "weight": i.weight, "unit_vi": i.unit_vi, "unit_en": i.unit_en,
            "ordinal": n, "is_sensitive": i.code in sensitive} for n, i in enumerate(methodology.indicators, 1)])
        replace_table(con, "marts.dim_indicator", dim)

        ivs = pd.concat([_indicator_rows(methodology, p) for p in periods], ignore_index=True)
        # shuffled on purpose: the release must sort deterministically
        replace_table(con, "marts.fct_indicator_values", ivs.sample(frac=1, random_state=7).reset_index(drop=True))
        replace_table(con, "marts.fct_data_values", pd.DataFrame({
            "period": [PERIOD], "unit_level": ["commune"], "unit_code": ["00004"], "province_code": ["01"],
            "data_element": ["ABUSE_CASES"], "value": [3.0]}))

        ds = []
        for period in periods:
            for p_code in PROVINCES:
                for n, d in enumerate(methodology.domains):
                    for level, unit in (("province", p_code), ("commune", COMMUNES[p_code][0][0])):
                        ds.append((period, level, unit, p_code, d.code, d.name_vi, d.name_en,
                                   40.0 + 7.5 * n + int(p_code) / 10, 3, 4))
        replace_table(con, "marts.fct_domain_scores", pd.DataFrame(ds, columns=[
            "period", "unit_level", "unit_code", "province_code", "domain_code", "domain_name_vi", "domain_name_en",
            "score", "indicators_used", "indicators_total"]))

        tiers = {t.tier: t for t in methodology.tiers}
        rk = []
        for period in periods:
            rk += [
                (period, "79", PROVINCES["79"], 51.25, None, None, None, None, 2, None, 12, 20,
                 "Không xếp hạng: chỉ có 12/20 chỉ số có số liệu (cần ít nhất 65%)"),
                (period, "04", PROVINCES["04"], 61.5, 2, 4, tiers[4].name_vi, tiers[4].name_en, 1, -1, 19, 20, None),
                (period, "01", PROVINCES["01"], 72.123456789, 1, 2, tiers[2].name_vi, tiers[2].name_en, 2, 1, 20,
                 20, None),
            ]
        ranking = pd.DataFrame(rk, columns=[
            "period", "province_code", "province_name", "pcri", "rank", "tier", "tier_name_vi", "tier_name_en",
            "previous_rank", "rank_change", "indicators_used", "indicators_total", "not_ranked_reason"])
        for c in ("rank", "tier", "previous_rank", "rank_change"):
            ranking[c] = ranking[c].astype("Int32")
        replace_table(con, "marts.fct_province_ranking", ranking)

        con.execute("""insert into raw.ingest_files (period, sector, source_file, file_sha256, encoding, rows_total,
                                                  rows_loaded, rows_rejected, received_at, loaded_at) values
            (?, 'health', 'health/so_y_te.csv', 'a1', 'utf-8-sig', 10, 9, 1, null, timestamp '2025-10-01 08:00:00'),
            (?, 'health', 'health/so_y_te.csv', 'b2', 'utf-8-sig', 12, 12, 0, null, timestamp '2025-10-02 08:00:00'),
            (?, 'police', 'police/cong_an.csv', 'c3', 'utf-8', 30, 30, 0, null, timestamp '2025-10-01 09:00:00'),
            ('2024', 'police', 'police/old.csv', 'd4', 'utf-8', 5, 5, 0, null, timestamp '2024-10-01 09:00:00')""",
                    [PERIOD, PERIOD, PERIOD])
    return path


@pytest.fixture()
def env(tmp_path, methodology):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", methodology)
    settings = Settings(home=tmp_path, methodology_path=Path(DEFAULT_METHODOLOGY))
    return settings, wh


CHECKS = [
    {"check_code": "ingest.unknown_unit", "severity": "blocking", "passed": True, "failures": 0},
    {"check_code": "plausibility.year_on_year", "severity": "warning", "passed": False, "failures": 2},
]
WAIVERS = [{"check_code": "plausibility.year_on_year", "by": "Nguyễn Văn A", "reason": "Số liệu đã xác minh"}]


def publish(settings, wh, methodology, **kw):
    with connect(wh, read_only=True) as con:
        return publish_period(con, PERIOD, settings, methodology, CHECKS, WAIVERS, **kw)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------------------------------


def test_release_files_and_columns(env, methodology):
    settings, wh = env
    result = publish(settings, wh, methodology)
    assert result.version == 1 and result.path == settings.publish_dir / PERIOD / "v1"
    names = {p.name for p in result.path.iterdir()}
    expected = {f"{t}.{ext}" for t in contract.TABLE_NAMES for ext in ("parquet", "csv")}
    assert expected | {"dictionary.csv", "dictionary.md", "manifest.json"} == names
    assert sorted(result.files) == sorted(names - {"manifest.json"})

    for name in contract.TABLE_NAMES:
        pf = pq.read_table(result.path / f"{name}.parquet")
        assert pf.schema.names == contract.columns(name)
        assert contract.schema_problems(name, pf.schema) == []
        csv = read_csv(result.path / f"{name}.csv")
        assert list(csv.columns) == contract.columns(name)
        assert contract.header_problems(name, csv.columns) == []
        assert len(csv) == pf.num_rows
        # the commune tables are empty here: this warehouse has no commune marts (tests/test_commune_*.py)
        assert set(pf.column("period").to_pylist()) == ({PERIOD} if pf.num_rows else set())

    ranking = pq.read_table(result.path / "province_ranking.parquet").to_pandas()
    assert ranking["province_code"].tolist() == ["01", "04", "79"]  # by rank, not ranked last
    assert ranking["rank"].tolist()[:2] == [1, 2] and pd.isna(ranking["rank"].iloc[2])
    assert ranking["tier_name"].iloc[0] == "Nhóm 2 (khá)"
    domains = pq.read_table(result.path / "domain_scores.parquet").to_pandas()
    assert len(domains) == 3 * len(methodology.domains)  # province rows only
    assert domains["domain_code"].tolist()[:5] == [d.code for d in methodology.domains]
    iv = pq.read_table(result.path / "indicator_values.parquet").to_pandas()
    n_communes = sum(len(c) for c in COMMUNES.values())
    n_commune_ind = sum(1 for i in methodology.indicators if methodology.indicator_level(i) == "commune")
    assert len(iv) == 3 * len(methodology.indicators) + n_communes * n_commune_ind
    assert iv["unit_level"].tolist()[: 3 * len(methodology.indicators)] == ["province"] * 3 * len(methodology.indicators)
    assert iv.iloc[0]["indicator_code"] == methodology.indicators[0].code


def test_csv_bom_vietnamese_and_number_format(env, methodology):
    settings, wh = env
    result = publish(settings, wh, methodology)
    for name in [f"{t}.csv" for t in contract.TABLE_NAMES] + ["dictionary.csv"]:
        raw = (result.path / name).read_bytes()
        assert raw.startswith(BOM), name
        text = raw[3:].decode("utf-8")
        assert unicodedata.is_normalized("NFC", text), name
        assert "\r\n" in text

    ranking = read_csv(result.path / "province_ranking.csv")
    assert ranking["province_name"].tolist() == ["Thành phố Hà Nội", "Cao Bằng", "Thành phố Hồ Chí Minh"]
    assert ranking["pcri"].tolist()[0] == "72.12"  # 72.123456789 at the 2 decimals the dictionary declares
    assert ranking["rank"].tolist() == ["1", "2", ""]
    assert ranking["not_ranked_reason"].iloc[2].startswith("Không xếp hạng")

    iv = read_csv(result.path / "indicator_values.csv")
    names = set(iv["unit_name"])
    assert "Phường Thục Phán" in names  # stored decomposed in the warehouse, published composed
    assert unicodedata.normalize("NFD", "Phường Thục Phán") not in names
    assert set(iv["suppressed"]) == {"true", "false"}
    budget = iv[(iv["indicator_code"] == "R1_BUDGET_PER_CHILD") & (iv["unit_code"] == "79")].iloc[0]
    assert budget["numerator"] == "10000000000"  # no exponent, no thousands separator, no ".0"
    numbers = iv[["numerator", "denominator", "value", "score"]].to_numpy().ravel()
    assert all(re.fullmatch(r"-?\d+(\.\d+)?|", v) for v in numbers)
    # the CSV holds the Parquet's numbers at 2 decimals (the Parquet keeps the full precision)
    pf = pq.read_table(result.path / "indicator_values.parquet").to_pandas()
    expected = [-1 if pd.isna(v) else round_half_up(v, 2) for v in pf["value"].astype("float64")]
    assert pd.to_numeric(iv["value"]).fillna(-1).tolist() == expected


def test_versions_are_immutable_and_latest_points_to_newest(env, methodology):
    settings, wh = env
    v1 = publish(settings, wh, methodology)
    before = snapshot(v1.path)
    v2 = publish(settings, wh, methodology)
    assert (v1.version, v2.version) == (1, 2)
    assert snapshot(v1.path) == before  # byte for byte
    latest = json.loads((settings.publish_dir / PERIOD / "latest.json").read_text(encoding="utf-8"))
    assert latest["version"] == 2 and latest["release"] == "v2" and latest["period"] == PERIOD
    assert not (settings.publish_dir / PERIOD / "latest.json").is_symlink()
    releases = list_releases(settings.publish_dir)
    assert [(r.period, r.version, r.latest) for r in releases] == [(PERIOD, 1, False), (PERIOD, 2, True)]
    assert all(r.methodology_version == methodology.version and r.created_at.endswith("Z") for r in releases)


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("event,name", [
    ("file", "province_ranking.csv"),       # among the first files
    ("file", "indicator_values.parquet"),   # in the middle
    ("file", "manifest.json"),              # everything written, not yet renamed
    ("extra", "writer"),                    # an extra writer ran
    ("renamed", "v3"),                      # renamed, latest.json not yet replaced
])
def test_failure_leaves_no_release_and_latest_untouched(env, methodology, event, name):
    settings, wh = env
    publish(settings, wh, methodology)
    publish(settings, wh, methodology)
    period_dir = settings.publish_dir / PERIOD
    latest_before = (period_dir / "latest.json").read_bytes()
    v2_before = snapshot(period_dir / "v2")

    def writer(folder, tables):
        (folder / "extra.txt").write_text("x", encoding="utf-8")

    def fail(ev, nm):
        if (ev, nm) == (event, name):
            raise Boom(f"injected at {ev} {nm}")

    with pytest.raises(Boom):
        publish(settings, wh, methodology, extra_writers=[writer], on_progress=fail)
    assert not (period_dir / "v3").exists()
    assert (period_dir / "latest.json").read_bytes() == latest_before
    assert snapshot(period_dir / "v2") == v2_before
    assert [p.name for p in period_dir.iterdir() if p.name.startswith(".tmp")] == []
    assert verify_release(settings.publish_dir, PERIOD).ok
    # the next write goes on normally
    assert publish(settings, wh, methodology).version == 3


def test_failing_extra_writer_and_stale_temp_folder(env, methodology):
    settings, wh = env
    publish(settings, wh, methodology)
    period_dir = settings.publish_dir / PERIOD
    stale = period_dir / ".tmp-v2-deadbeef"
    stale.mkdir()
    (stale / "province_ranking.csv").write_text("half written", encoding="utf-8")

    def broken(folder, tables):
        (folder / "ranking.xlsx").write_bytes(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        publish(settings, wh, methodology, extra_writers=[broken])
    assert not (period_dir / "v2").exists()
    assert not stale.exists()  # a crashed run's temp folder is cleaned by the next write

    def overwrites(folder, tables):
        (folder / "province_ranking.csv").write_text("mine", encoding="utf-8")

    with pytest.raises(ReleaseError, match="province_ranking.csv"):
        publish(settings, wh, methodology, extra_writers=[overwrites])
    assert not (period_dir / "v2").exists()
    assert json.loads((period_dir / "latest.json").read_text(encoding="utf-8"))["version"] == 1


def test_extra_writers_add_files_to_the_manifest(env, methodology):
    settings, wh = env
    seen = {}

    def excel(folder, tables):
        seen.update({k: len(v) for k, v in tables.items()})
        (folder / "ranking.xlsx").write_bytes(b"PK fake workbook")
        (folder / "report").mkdir()
        (folder / "report" / "index.html").write_text("<h1>Xếp hạng</h1>", encoding="utf-8")

    result = publish(settings, wh, methodology, extra_writers=[excel])
    assert set(seen) == set(contract.TABLE_NAMES)
    names = {o["name"] for o in result.manifest["outputs"]}
    assert {"ranking.xlsx", "report/index.html"} <= names
    assert verify_release(settings.publish_dir, PERIOD).ok


def test_a_writer_with_a_release_parameter_gets_the_version_and_date(env, methodology):
    settings, wh = env
    got = []

    def report(folder, tables, release=None):
        got.append(release)
        (folder / "report.pdf").write_bytes(b"%PDF-1.7 printable report")

    first = publish(settings, wh, methodology, extra_writers=[report])
    second = publish(settings, wh, methodology, extra_writers=[report])
    assert got == [{"release": "v1", "created_at": first.manifest["created_at"]},
                   {"release": "v2", "created_at": second.manifest["created_at"]}]
    pdf = next(o for o in second.manifest["outputs"] if o["name"] == "report.pdf")
    assert pdf["sha256"] == hashlib.sha256(b"%PDF-1.7 printable report").hexdigest()
    assert verify_release(settings.publish_dir, PERIOD).ok


def test_manifest(env, methodology):
    settings, wh = env
    result = publish(settings, wh, methodology)
    m = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert m == json.loads(json.dumps(result.manifest, ensure_ascii=False))
    assert (m["period"], m["release_version"], m["release"]) == (PERIOD, 1, "v1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created_at"])
    assert m["methodology"]["version"] == methodology.version
    assert m["methodology"]["sha256"] == hashlib.sha256(Path(DEFAULT_METHODOLOGY).read_bytes()).hexdigest()
    assert m["code"]["package"] == "cri-pipeline" and m["code"]["version"]
    assert m["code"]["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", m["code"]["git_commit"])
    # the latest load of each input file of the period
    assert m["inputs"] == [
        {"source_file": "health/so_y_te.csv", "sector": "health", "sha256": "b2", "rows": 12, "rows_loaded": 12,
         "rows_rejected": 0},
        {"source_file": "police/cong_an.csv", "sector": "police", "sha256": "c3", "rows": 30, "rows_loaded": 30,
         "rows_rejected": 0},
    ]
    for o in m["outputs"]:
        path = result.path / o["name"]
        assert o["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert o["bytes"] == path.stat().st_size
    rows = {o["name"]: o["rows"] for o in m["outputs"]}
    assert rows["province_ranking.csv"] == rows["province_ranking.parquet"] == 3
    assert rows["dictionary.md"] is None
    assert m["checks"] == CHECKS and m["waivers"] == WAIVERS
    assert m["quality"] == {"checks": 2, "checks_passed": 1, "checks_failed": 1, "failed_blocking": 0,
                            "failed_warning": 1, "failed_waived": 1}
    d = m["disclosure"]
    assert d["rule"]["suppress_min"] == 1 and d["rule"]["suppress_max"] == 4
    assert d["sensitive_indicators"] == ["P2_ABUSE_RATE", "P3_CONFLICT_LAW_RATE"]
    # abuse: 01 -> 00004 (3) + complement 00070 (7); 04 -> two primaries; conflict: 04 -> 01273 (4) + 01279 (6)
    assert (d["primary"], d["complementary"], d["cells_suppressed"]) == (4, 2, 6) == (4, 2, result.suppressed)
    assert d["residual_groups"] == []
    assert [t for t in m["tables"]] == list(contract.TABLE_NAMES)
    assert m["tables"]["indicator_values"]["columns"][-1] == {"name": "suppressed", "type": "boolean"}


def test_verify_detects_changed_missing_and_extra_files(env, methodology):
    settings, wh = env
    publish(settings, wh, methodology)
    result = verify_release(settings.publish_dir, PERIOD)
    files = 2 * len(contract.TABLE_NAMES) + 2  # parquet and csv of each table, dictionary.csv and .md
    assert result.ok and result.version == 1 and result.checked == files, result.summary()

    folder = settings.publish_dir / PERIOD / "v1"
    target = folder / "indicator_values.csv"
    data = bytearray(target.read_bytes())
    pos = data.index(b"Ba \xc4\x90\xc3\xacnh")  # one byte of one commune name
    data[pos] ^= 0x01
    target.write_bytes(bytes(data))
    result = verify_release(settings.publish_dir, PERIOD, version=1)
    assert not result.ok and result.changed == ["indicator_values.csv"] and not result.missing

    (folder / "dictionary.md").unlink()
    (folder / "notes.txt").write_text("added later", encoding="utf-8")
    result = verify_release(settings.publish_dir, PERIOD)
    assert result.changed == ["indicator_values.csv"]
    assert result.missing == ["dictionary.md"]
    assert result.extra == ["notes.txt"]
    assert not verify_release(settings.publish_dir, PERIOD, version=7).ok


def test_verify_detects_a_changed_manifest(env, methodology):
    settings, wh = env
    result = publish(settings, wh, methodology)
    path = result.path / "manifest.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"v1"', '"v1" '), encoding="utf-8")
    assert verify_release(settings.publish_dir, PERIOD).changed == ["manifest.json"]


def test_tables_not_matching_the_contract_are_refused(env, methodology, tmp_path):
    settings, wh = env
    with connect(wh, read_only=True) as con:
        built = build_release_tables(con, PERIOD, methodology)
    tables = dict(built.tables)
    tables["province_ranking"] = tables["province_ranking"].rename(columns={"pcri": "PCRI"})
    with pytest.raises(ContractError, match="'pcri'"):
        write_release(settings.publish_dir, PERIOD, tables, methodology)
    tables = dict(built.tables)
    tables["domain_scores"] = tables["domain_scores"].assign(score=tables["domain_scores"]["score"].astype(str))
    with pytest.raises(ContractError, match="'score'"):
        write_release(settings.publish_dir, PERIOD, tables, methodology)
    tables = dict(built.tables)
    iv = tables["indicator_values"]
    tables["indicator_values"] = iv[[c for c in iv.columns if c != "suppressed"] + ["suppressed"]].assign(extra=1)
    with pytest.raises(ContractError, match="'extra'"):
        write_release(settings.publish_dir, PERIOD, tables, methodology)
    assert not (settings.publish_dir / PERIOD / "v1").exists()
    assert not (settings.publish_dir / PERIOD / "latest.json").exists()


def test_marts_not_matching_the_architecture_contract(env, methodology):
    settings, wh = env
    with connect(wh) as con:
        con.execute("alter table marts.fct_province_ranking rename column tier_name_vi to tier_name")
    with connect(wh, read_only=True) as con, pytest.raises(ReleaseError, match="'tier_name_vi'"):
        publish_period(con, PERIOD, settings, methodology, [], [])
    with connect(wh) as con:
        con.execute("alter table marts.fct_province_ranking rename column tier_name to tier_name_vi")
    with connect(wh, read_only=True) as con, pytest.raises(ReleaseError, match="nothing to publish"):
        build_release_tables(con, "2030", methodology)
    with connect(wh, read_only=True) as con, pytest.raises(ReleaseError, match="not a period"):
        build_release_tables(con, "../2025", methodology)


def test_release_refuses_another_methodology(env, methodology):
    settings, wh = env
    with connect(wh) as con:
        con.execute("update ref.methodology set file_sha256 = 'something-else'")
    with connect(wh, read_only=True) as con, pytest.raises(ReleaseError, match="methodology"):
        publish_period(con, PERIOD, settings, methodology, [], [])


def test_the_warehouse_is_never_modified(env, methodology):
    settings, wh = env
    with connect(wh, read_only=True) as con:
        before_rows = con.execute("select * from marts.fct_indicator_values order by all").df()
    digest = hashlib.sha256(wh.read_bytes()).hexdigest()
    result = publish(settings, wh, methodology)
    assert hashlib.sha256(wh.read_bytes()).hexdigest() == digest
    with connect(wh, read_only=True) as con:
        after_rows = con.execute("select * from marts.fct_indicator_values order by all").df()
    pd.testing.assert_frame_equal(before_rows, after_rows)
    assert result.suppressed > 0
    # the warehouse still holds the suppressed count
    assert after_rows.query("unit_code == '00004' and indicator_code == 'P2_ABUSE_RATE' and period == @PERIOD")[
        "numerator"].tolist() == [3.0]


def test_published_figures_follow_the_disclosure_rule(env, methodology):
    settings, wh = env
    result = publish(settings, wh, methodology)
    published = pq.read_table(result.path / "indicator_values.parquet").to_pandas()
    with connect(wh, read_only=True) as con:
        original = con.execute("select * exclude (domain_code) from marts.fct_indicator_values where period = ?",
                               [PERIOD]).df()
    rule = DisclosureRule.from_methodology(methodology)
    assert audit(original, published, sensitive_indicator_codes(methodology), rule) == []
    row = published.query("unit_code == '00004' and indicator_code == 'P2_ABUSE_RATE'").iloc[0]
    assert row["suppressed"] and pd.isna(row["numerator"]) and pd.isna(row["value"]) and pd.isna(row["score"])
    assert row["denominator"] == 4000.0
    csv = read_csv(result.path / "indicator_values.csv")
    row = csv.query("unit_code == '00004' and indicator_code == 'P2_ABUSE_RATE'").iloc[0]
    assert (row["numerator"], row["value"], row["score"], row["suppressed"]) == ("", "", "", "true")
    # a small count of a non-sensitive indicator is published
    h1 = published.query("unit_level == 'commune' and indicator_code == 'H1_U5_MORTALITY'")
    assert (h1["numerator"] == 3).all() and not h1["suppressed"].any()


def test_dictionary_covers_every_published_column_and_indicator(env, methodology):
    settings, wh = env
    result = publish(settings, wh, methodology)
    d = read_csv(result.path / "dictionary.csv")
    assert (result.path / "dictionary.csv").read_bytes().startswith(BOM)
    cols = d[d["section"] == "column"]
    for name in contract.TABLE_NAMES:
        published = pq.read_table(result.path / f"{name}.parquet").schema.names
        described = cols[cols["table"] == name]
        assert described["column"].tolist() == published
        assert (described["name_vi"] != "").all() and (described["name_en"] != "").all()
        assert (described["description"] != "").all()
        assert described["type"].tolist() == [contract.table(name).column(c).type for c in published]
    ind = d[d["section"] == "indicator"].set_index("indicator_code")
    assert ind.index.tolist() == [i.code for i in methodology.indicators]
    abuse = ind.loc["P2_ABUSE_RATE"]
    assert abuse["sensitive"] == "true" and ind.loc["H1_U5_MORTALITY"]["sensitive"] == "false"
    assert "Số vụ xâm hại trẻ em được phát hiện, xử lý [ABUSE_CASES]" == abuse["numerator_vi"]
    assert abuse["multiplier"] == "100000" and abuse["direction"] == "lower"
    assert abuse["source_sectors_vi"] == "Y tế; Thống kê"
    h1 = ind.loc["H1_U5_MORTALITY"]
    assert (h1["target_2025"], h1["target_2030"], h1["goal_low"], h1["goal_high"]) == ("18.5", "15", "5", "60")
    assert ind.loc["R2_CP_WORKER_COMMUNES"]["denominator_en"].endswith("[COMMUNES]")
    md = (result.path / "dictionary.md").read_text(encoding="utf-8")
    for i in methodology.indicators:
        assert f"`{i.code}`" in md and i.name_vi in md
    for t in contract.TABLES.values():
        for c in t.columns:
            assert f"`{c.name}`" in md
    assert "suppressed" in md and "Bảo mật" in md


def test_dictionary_frames_are_complete(methodology):
    cols = column_dictionary()
    assert len(cols) == sum(len(t.columns) for t in contract.TABLES.values())
    assert not cols.isna().any().any()
    ind = indicator_dictionary(methodology)
    assert len(ind) == len(methodology.indicators)
    assert ind.loc[ind["sensitive"], "indicator_code"].tolist() == ["P2_ABUSE_RATE", "P3_CONFLICT_LAW_RATE"]
    frame = dictionary_frame(methodology)
    assert len(frame) == len(cols) + len(ind)


def test_code_version_outside_a_git_repository(monkeypatch, tmp_path):
    import pipelines.settings

    info = code_version()
    assert info["package"] == "cri-pipeline"
    monkeypatch.setattr(pipelines.settings, "REPO_ROOT", tmp_path)
    info = code_version()
    assert info["git_commit"] is None and info["git_dirty"] is None


def test_contract_conform_names_the_column():
    df = pd.DataFrame({c: ["x"] for c in contract.columns("domain_scores")})
    with pytest.raises(ContractError, match="'score'"):
        contract.conform("domain_scores", df)
    good = contract.conform("domain_scores", df.assign(score=[1.5], indicators_used=[1], indicators_total=[2.0]))
    contract.validate("domain_scores", good)
    assert str(good["indicators_total"].dtype) == "Int64"
    with pytest.raises(ContractError, match="'indicators_used'"):
        contract.conform("domain_scores", df.assign(score=[1.5], indicators_used=[1.5], indicators_total=[2]))
    with pytest.raises(ContractError, match="'province_code'"):
        contract.validate("domain_scores", good.assign(province_code=pd.array([None], dtype="string")))
    assert contract.problems("domain_scores", good) == []


def test_checks_for_the_quality_gate(env, methodology):
    from pipelines.publish.release_tables import check_release_files, check_release_tables

    settings, wh = env
    with connect(wh, read_only=True) as con:
        assert check_release_tables(con, PERIOD, methodology) == []
        assert "nothing to publish" in check_release_tables(con, "2031", methodology)[0]
    result = publish(settings, wh, methodology)
    assert check_release_files(result.path) == []
    path = result.path / "domain_scores.csv"
    path.write_bytes(path.read_bytes()[3:].replace(b"domain_name_en", b"domain_name_english", 1))
    found = check_release_files(result.path)
    assert any("byte-order mark" in p for p in found) and any("'domain_name_en'" in p for p in found)


def test_checks_as_objects_quality_fields_and_version_numbers_never_reused(env, methodology):
    import shutil
    from dataclasses import dataclass

    @dataclass
    class Check:
        code: str
        severity: str
        passed: bool
        waived: bool = False

        def to_dict(self):
            return dict(self.__dict__)

    settings, wh = env
    with connect(wh, read_only=True) as con:
        result = publish_period(con, PERIOD, settings, methodology,
                                [Check("output.ranking", "blocking", False, waived=True)], [],
                                quality={"passed": True, "waived": 1})
    q = result.manifest["quality"]
    assert (q["passed"], q["waived"], q["failed_blocking"], q["failed_waived"]) == (True, 1, 1, 1)
    assert result.manifest["checks"] == [{"code": "output.ranking", "severity": "blocking", "passed": False,
                                          "waived": True}]
    # a version folder removed by hand: its number is still never given again
    shutil.rmtree(result.path)
    assert publish(settings, wh, methodology).version == 2
    with pytest.raises(ValueError, match="'period'"):
        write_release(settings.publish_dir, PERIOD, {}, methodology, {"period": "2024"})

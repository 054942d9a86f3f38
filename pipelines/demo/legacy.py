"""Demo history: the years before the 2025 reform as agencies sent them, and what goes wrong in a long series.

Before 1 July 2025 the agencies keyed their files by the units of the time
(``unit_scheme = legacy``). In the demo history (``cri demo-data --history``):

* every sector keys its files of those years by the units of the time, as the
  agencies did: its province-level data (the finance department's budget, the
  statistics office's province child population) by the 63 old provinces, each
  new province's figure split over the old provinces it was made of, in
  proportion to their number of communes (largest remainder for counts, so the
  parts add up exactly); its commune data by the old communes where a new
  commune was made of whole old communes (its count split over them, largest
  remainder; yes/no flags carried to each), and by the 2025 code where a new
  commune took part of an old commune split in 2025 (a file in both schemes,
  as agencies sent them during the change-over). The pipeline sums them back
  through the crosswalk;
* ``MISSING_SECTORS``: a sector that sent nothing one year (its indicators
  drop out of that year's domain means); ``LATE_FILES``: files received after
  the reporting deadline (the timeliness check reports them).

Province trends differ through the generator's per-province drift; ``SETBACK``
makes one province fall back from a given year.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HISTORY_PERIODS = ("2019", "2020", "2021", "2022", "2023", "2024", "2025", "2025H1", "2025H2")
REFORM_YEAR = 2025
MISSING_SECTORS = {"2020": ("culture",)}
LATE_FILES = {"2021": ("justice",), "2023": ("police",)}  # days after the deadline: LATE_DAYS
LATE_DAYS = 20
# what a sector that sent nothing fails: no file, and too few communes reporting its elements
WAIVED_CHECKS = ("completeness.sector_files", "completeness.commune_reporting")
# province code -> (first year of the setback, development lost per year from then): Quảng Ninh falls back
SETBACK = {"22": (2022, 0.35)}


def is_legacy_period(period: str) -> bool:
    return int(str(period)[:4]) < REFORM_YEAR


def setback(province_codes, position: float, base_year: int) -> np.ndarray:
    """Development lost by each province at ``position`` (years since ``base_year``): SETBACK, else 0."""
    year = base_year + position
    return np.array([SETBACK[c][1] * max(0.0, year - SETBACK[c][0] + 1) if c in SETBACK else 0.0
                     for c in province_codes])


def _largest_remainder(values: np.ndarray, shares: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Split each ``values[row]`` by ``shares`` (which sum to 1 per row) into whole parts that add up exactly."""
    quota = values * shares
    part = np.floor(quota)
    frac = quota - part
    df = pd.DataFrame({"row": row, "frac": frac, "part": part, "value": values})
    short = (df.groupby("row")["value"].first() - df.groupby("row")["part"].sum()).round().astype(int)
    df["order"] = df.sort_values(["row", "frac"], ascending=[True, False]).groupby("row").cumcount()
    df["part"] += (df["order"] < df["row"].map(short)).astype(float)
    return df["part"].to_numpy()


def _split(frame: pd.DataFrame, edges: pd.DataFrame, flags: set[str], by: str = "legacy_code") -> pd.DataFrame:
    """Rows keyed by new units -> rows keyed by old ones (edges: unit_code, legacy_code, weight)."""
    df = frame.reset_index(drop=True).rename_axis("row").reset_index().merge(edges, on="unit_code", how="inner")
    df["share"] = df["weight"] / df.groupby("row")["weight"].transform("sum")
    flag = df["data_element"].astype(object).isin(flags).to_numpy()  # object: a hash lookup, not Arrow's
    whole = np.where(flag, df["value"], _largest_remainder(df["value"].to_numpy(float), df["share"].to_numpy(),
                                                           df["row"].to_numpy()))
    df["value"] = whole
    keys = ["period", by, "data_element", "disaggregation"]
    out = df.groupby(keys, as_index=False).agg(value=("value", "sum"), flag=("value", "max"))
    out["value"] = np.where(out["data_element"].astype(object).isin(flags), out["flag"], out["value"]).astype(np.int64)
    return out.drop(columns="flag").rename(columns={by: "unit_code"})


def to_legacy(frame: pd.DataFrame, sector: str, flags: set[str]) -> pd.DataFrame:
    """The sector's rows of a year before 2025 as the agency sent them (module text): every sector alike."""
    from pipelines.units.crosswalk import commune_crosswalk, legacy_units, province_crosswalk

    if frame.empty:
        return frame
    frame = frame.assign(disaggregation=frame.get("disaggregation", pd.Series("", index=frame.index)).fillna(""))
    is_province = frame["unit_code"].str.len() == 2
    cw = commune_crosswalk()
    parts = []
    if is_province.any():
        communes = cw.groupby("legacy_province_code")["legacy_code"].nunique()
        pc = province_crosswalk()[["legacy_code", "unit_code"]].assign(
            weight=lambda d: d["legacy_code"].map(communes).fillna(1).astype(float))
        parts.append(_split(frame[is_province], pc, flags))
    if (~is_province).any():
        # new communes made of whole old communes only: keyed by those; the others by their 2025 code
        whole = ~cw.groupby("unit_code")["split"].transform("any")
        edges = cw.loc[whole, ["legacy_code", "unit_code"]].assign(weight=1.0)
        rows = frame[~is_province]
        mapped = rows["unit_code"].astype(object).isin(set(edges["unit_code"]))
        parts += [_split(rows[mapped], edges, flags), rows[~mapped]]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    names = legacy_units().drop_duplicates("unit_code").set_index("unit_code")["unit_name"]
    legacy = out["unit_code"].astype(object).isin(set(names.index))
    converted = out["unit_name"].isna() if "unit_name" in out.columns else pd.Series(True, index=out.index)
    out["unit_name"] = np.where(converted, out["unit_code"].map(names), out.get("unit_name"))
    out["unit_scheme"] = np.where(converted & legacy, "legacy", "")
    columns = ["period", "unit_code", "unit_name", "data_element", "value", "unit_scheme"]
    if (out["disaggregation"] != "").any():
        columns.append("disaggregation")
    return out[columns]


def write_demo_waivers(home) -> Path | None:
    """The operator's waiver for the sector that sent nothing (``MISSING_SECTORS``): the province-element pairs
    it leaves unreported would block the period, and a range run with it; its indicators drop out of that year's
    domain means instead. Written to ``$CRI_HOME/waivers.yaml`` unless the operator has a file there already."""
    path = Path(home) / "waivers.yaml"
    if path.exists():
        return None
    waivers = [{"check": check, "period": period,
                "reason": f"Dữ liệu mẫu: ngành {', '.join(sectors)} không gửi số liệu năm {period}; các chỉ số của ngành "
                          f"không tính vào điểm lĩnh vực năm đó / demo data: {', '.join(sectors)} sent nothing for "
                          f"{period}; its indicators drop out of that year's domain means",
                "approved_by": "Dữ liệu mẫu / demo data", "date": f"{int(period[:4]) + 1}-01-15"}
               for period, sectors in MISSING_SECTORS.items() for check in WAIVED_CHECKS]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"waivers": waivers}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path

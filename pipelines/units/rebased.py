"""The parts of rebased values summed per key and 2025 unit (``pipelines.units.crosswalk.rebase_values``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _rebased(parts: dict[str, list], by: list[str], target_level: str, rule: str, ref_name: dict[str, str],
             ref_province: dict[str, str], expected: dict[str, set[str]]) -> pd.DataFrame:
    """The parts summed per key and 2025 unit (a flag: the largest), with their sources."""
    out_cols = [*by, "unit_code", "unit_level", "unit_name", "province_code", "value", "apportioned",
                "source_units", "sources_reported", "sources_expected", "complete", "unit_scheme", "rebase_rule",
                "row_number"]
    if not parts["_target"]:
        return pd.DataFrame(columns=out_cols)
    p = pd.DataFrame(parts)
    for c in by:
        p[c] = p[c].astype(object).where(p[c].notna(), "")
    split = p["_apportioned"].to_numpy(dtype=bool)
    labels = p["_source"].to_numpy(dtype=object).copy()
    labels[split] = [f"{c}×{s:.4f}" for c, s in zip(labels[split], p["_share"].to_numpy()[split], strict=True)]
    p["_label"] = labels
    keys = [*by, "_target"]
    p = p.sort_values([*keys, "_source"], kind="stable")
    grouped = p.groupby(keys, sort=True, dropna=False)
    out = grouped.agg(value_sum=("value", "sum"), value_max=("value", "max"), is_flag=("_flag", "any"),
                      apportioned=("_apportioned", "any"), sources_reported=("_source", "nunique"),
                      row_number=("_row_number", "min")).reset_index()
    # the labels of each group, in the order sorted above, joined (a slice per group: no Python groupby)
    gid = grouped.ngroup().to_numpy()
    starts = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
    ends = np.r_[starts[1:], len(gid)]
    sorted_labels = p["_label"].to_numpy(dtype=object).tolist()
    joined = np.empty(len(out), dtype=object)
    joined[gid[starts]] = [";".join(sorted_labels[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    out["source_units"] = joined
    out["value"] = out["value_max"].where(out["is_flag"], out["value_sum"]).astype(float)
    out = out.rename(columns={"_target": "unit_code"})
    out["unit_level"] = target_level
    codes = out["unit_code"].to_numpy(dtype=object).tolist()
    out["unit_name"] = out["unit_code"].map(ref_name)
    out["province_code"] = out["unit_code"].map(ref_province)
    out["sources_expected"] = pd.Series([len(expected[t]) for t in codes], index=out.index).astype(int)
    out["complete"] = out["sources_reported"] >= out["sources_expected"]
    out["unit_scheme"] = "2025"
    out["rebase_rule"] = rule
    return out[out_cols].reset_index(drop=True)

"""Duplicates, rebasing and assembly: the rows of every file of a folder that passed the row checks become
the values to load; the rejects of every file are put in order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.ingest.codes import CHECK_CODES
from pipelines.ingest.context import _Context
from pipelines.ingest.contract import (
    _REJECT_DTYPES,
    _VALUE_DTYPES,
    DUPLICATE_KEY,
    LEGACY,
    MATCH_METHODS,
    REJECT_COLUMNS,
    VALUE_COLUMNS,
    FileInfo,
)
from pipelines.ingest.messages import reason, texts
from pipelines.ingest.stage import _Staged

_ASSEMBLY_REJECT_COLUMNS = ["_file", "_rec", "column_name", "value", "check_code", "reason"]
#: The duplicate key of legacy rows: one legacy unit (or a distinct former unit merged into it before 2025).
LEGACY_KEY = ["period", "src_key", "data_element", "disaggregation"]
_REBASE_BY = ["period", "data_element", "disaggregation"]
_LEGACY_LABEL = f" ({reason('fragment.legacy_unit')})"


def _assemble(staged: list[_Staged], ctx: _Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Values to load, the rejects found across rows (``_file``, ``_rec``, ...) and the loaded records.

    1. legacy rows: the duplicate rule, per legacy unit (one old unit is never added twice);
    2. the legacy rows left are summed onto the 2025 units through the crosswalk, all files together;
    3. a value given both for a 2025 unit and through the crosswalk: every copy is rejected
       (``units.scheme_overlap``), and the crosswalk is applied again without the legacy rows rejected,
       so that no row is half loaded (a split commune's other parts are taken out too);
    4. 2025 rows: the duplicate rule.

    The loaded records (``_file``, ``_rec``, ``match_method``) count each input record once.
    """
    parts = [st.candidates.assign(_file=i) for i, st in enumerate(staged)
             if st.candidates is not None and len(st.candidates)]
    empty_vals = pd.DataFrame({c: pd.Series(dtype=_VALUE_DTYPES[c]) for c in VALUE_COLUMNS})
    empty_rej = pd.DataFrame(columns=_ASSEMBLY_REJECT_COLUMNS)
    empty_loaded = pd.DataFrame({"_file": pd.Series(dtype="int64"), "_rec": pd.Series(dtype="int64"),
                                 "match_method": pd.Series(dtype=object)})
    if not parts:
        return empty_vals, empty_rej, empty_loaded
    cand = pd.concat(parts, ignore_index=True).sort_values(["_file", "_rec"], ignore_index=True)
    cand["row_number"] = np.concatenate([staged[f].row_number(g["_rec"].to_numpy())
                                         for f, g in cand.groupby("_file", sort=True)])
    multi_file = len(parts) > 1
    rejects: list[pd.DataFrame] = [empty_rej]
    is_legacy = (cand["match_method"] == LEGACY).to_numpy()
    cur = cand.loc[~is_legacy].reset_index(drop=True)
    leg = cand.loc[is_legacy].reset_index(drop=True)

    aggregates = empty_vals.assign(_file=pd.Series(dtype="int64"), _rec=pd.Series(dtype="int64"))
    leg_loaded = empty_loaded
    if len(leg):
        # 1. two rows for one legacy unit: the same rule as for 2025 rows, on the legacy unit
        leg["_label"] = leg["unit_code"] + _LEGACY_LABEL
        drop, rej = _duplicate_rule(leg, LEGACY_KEY, staged, multi_file)
        rejects.append(rej)
        leg = leg.loc[~drop].reset_index(drop=True)
        # 2-3. onto the 2025 units; overlaps with 2025 rows rejected whole, then the crosswalk again
        alive = np.ones(len(leg), dtype=bool)
        cur_out = np.zeros(len(cur), dtype=bool)
        while True:
            aggregates, leg_loaded, rebase_rejects = _rebase(leg.loc[alive], ctx)
            overlap, cur_hit, leg_hit = _overlaps(cur.loc[~cur_out], leg, aggregates, staged, multi_file)
            if overlap.empty:
                break
            rejects.append(overlap)
            cur_out[cur_hit] = True
            alive[leg_hit] = False
        rejects.append(rebase_rejects)
        cur = cur.loc[~cur_out].reset_index(drop=True)

    # 4. 2025 rows
    cur["_label"] = cur["unit_code"]
    drop, rej = _duplicate_rule(cur, DUPLICATE_KEY, staged, multi_file)
    rejects.append(rej)
    cur = cur.loc[~drop]
    cur_vals = cur.assign(source_units=None, rebase_complete=pd.NA)
    cur_vals = cur_vals.assign(source_file=[staged[f].source_file for f in cur_vals["_file"]]) if len(cur_vals) else cur_vals
    frames = [f[[*VALUE_COLUMNS, "_file", "_rec"]] for f in (cur_vals, aggregates) if len(f)]
    if frames:
        vals = pd.concat(frames, ignore_index=True).sort_values(["_file", "_rec", "unit_code"], kind="stable")
        vals = vals[VALUE_COLUMNS].reset_index(drop=True).astype(_VALUE_DTYPES)
        for col in ("unit_name", "comment", "source_units"):
            vals[col] = vals[col].where(vals[col].notna(), None)
    else:
        vals = empty_vals
    loaded = pd.concat([cur[["_file", "_rec", "match_method"]], leg_loaded], ignore_index=True)
    rej_frames = [r for r in rejects if len(r)]
    return vals, (pd.concat(rej_frames, ignore_index=True) if rej_frames else empty_rej), loaded


def _duplicate_rule(cand: pd.DataFrame, key: list[str], staged: list[_Staged],
                    multi_file: bool) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows to drop (by position) and their rejects, for rows sharing ``key``.

    Different values: every copy is rejected (``ingest.conflicting_duplicate``, naming the others).
    Same value: the first copy (file order, then row) is kept, the others are ``ingest.duplicate_row``.
    ``cand`` has a RangeIndex, ``_file``, ``_rec``, ``row_number``, ``value``, ``value_text``, the key
    columns and ``_label`` (the unit as shown in the reasons).
    """
    empty_rej = pd.DataFrame(columns=_ASSEMBLY_REJECT_COLUMNS)
    drop = np.zeros(len(cand), dtype=bool)
    if cand.empty:
        return drop, empty_rej
    dup = cand.duplicated(key, keep=False)
    if not dup.any():
        return drop, empty_rej
    d = cand.loc[dup]
    group_id = d.groupby(key, sort=False, dropna=False).ngroup()
    nvals = d.groupby(group_id)["value"].transform("nunique")
    conflict_idx = nvals[nvals > 1].index
    identical_idx = nvals[nvals == 1].index
    rows: list[dict[str, Any]] = []
    # Conflicts: every copy is rejected and names the others. Plain loops over arrays: a whole file sent
    # twice with other numbers gives one group per row.
    c = d.loc[conflict_idx].assign(_g=group_id[conflict_idx]).sort_values(["_g", "_file", "_rec"])
    if len(c):
        recs = _records(c, key)
        gid = c["_g"].to_numpy()
        starts = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
        for a, b in zip(starts.tolist(), np.r_[starts[1:], len(c)].tolist(), strict=True):
            group = recs[a:b]
            where = [_where(staged[r["_file"]].source_file, r["row_number"], multi_file) for r in group]
            key_text = _key_text(group[0])
            for n, r in enumerate(group):
                oth = [o for o in range(len(group)) if o != n]
                others_vi = "; ".join(f"{where[o][0]} = {group[o]['value_text']}" for o in oth)
                others_en = "; ".join(f"{where[o][1]} = {group[o]['value_text']}" for o in oth)
                v = r["value_text"]
                rows.append({
                    "_file": r["_file"], "_rec": r["_rec"], "column_name": "value", "value": v,
                    "check_code": "ingest.conflicting_duplicate",
                    "reason": reason("ingest.conflicting_duplicate", key=key_text, value=v,
                                     others=(others_vi, others_en)),
                })
        drop[c.index.to_numpy()] = True
    if len(identical_idx):
        ident = d.loc[identical_idx]
        first = ~ident.duplicated(key, keep="first")
        keep_where = {
            tuple(r[k] for k in key): _where(staged[r["_file"]].source_file, r["row_number"], multi_file)
            for r in _records(ident.loc[first], key)
        }
        repeats = ident.loc[~first]
        for r in _records(repeats, key):
            (kept_vi, kept_en), key_text = keep_where[tuple(r[k] for k in key)], _key_text(r)
            v = _fmt_number(r["value"])
            rows.append({
                "_file": r["_file"], "_rec": r["_rec"], "column_name": None, "value": r["value_text"],
                "check_code": "ingest.duplicate_row",
                "reason": reason("ingest.duplicate_row", key=key_text, kept=(kept_vi, kept_en), value=v),
            })
        drop[repeats.index.to_numpy()] = True
    return drop, pd.DataFrame(rows, columns=_ASSEMBLY_REJECT_COLUMNS)


def _rebase(leg: pd.DataFrame, ctx: _Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Legacy rows summed onto the 2025 units: (values with ``_file``/``_rec`` of the first row summed and
    ``_members``, the records loaded with their match method, rejects of the crosswalk)."""
    from pipelines.units.crosswalk import rebase_values

    agg_rows: list[dict[str, Any]] = []
    loaded: list[tuple[int, int, str]] = []
    rejects: list[dict[str, Any]] = []
    flags = ctx.flag_elements
    files = leg["_file"].to_numpy()
    recs = leg["_rec"].to_numpy()
    rows = leg["row_number"].to_numpy()
    names = leg["unit_name"].to_numpy(dtype=object)
    comments = leg["comment"].to_numpy(dtype=object)
    codes = leg["unit_code"].to_numpy(dtype=object)
    sources = leg["source_file"].to_numpy(dtype=object)
    shas = leg["file_sha256"].to_numpy(dtype=object)
    src_keys = leg["src_key"].to_numpy(dtype=object)
    positions = pd.Series(np.arange(len(leg)), index=leg.index)
    for (level, target), g in leg.groupby(["legacy_level", "target_level"], sort=True):
        # rows of one legacy unit and key are distinct former units merged into it (aliases): added first
        grouped = g.groupby([*_REBASE_BY, "unit_code"], sort=True)
        pre = grouped.agg(value_sum=("value", "sum"), value_max=("value", "max")).reset_index()
        gid = grouped.ngroup().to_numpy()
        order = np.argsort(gid, kind="stable")
        pos = positions[g.index].to_numpy()[order]
        cuts = np.flatnonzero(np.diff(gid[order])) + 1
        pre["members"] = [m.tolist() for m in np.split(pos, cuts)]
        pre["value"] = pre["value_max"].where(pre["data_element"].isin(flags), pre["value_sum"])
        pre["row_number"] = np.arange(len(pre))  # passed through to the decisions
        out, dec = rebase_values(pre[[*_REBASE_BY, "unit_code", "value", "row_number"]], level,
                                 rule=ctx.apportion_rule, flag_elements=flags, target_level=target, by=_REBASE_BY)
        members = pre["members"].tolist()
        for r in dec[dec["status"] == "rejected"].itertuples(index=False):
            for i in members[int(r.row_number)]:
                rejects.append({"_file": int(files[i]), "_rec": int(recs[i]), "column_name": "unit_code",
                                "value": codes[i], "check_code": r.check_code, "reason": r.reason})
        ok = dec[dec["status"] != "rejected"]
        pre_id = ok["row_number"].astype(int).to_numpy()
        split = (ok["status"] == "apportioned").to_numpy()
        apportioned_pre = set(pre_id[split].tolist())
        for p in sorted(set(pre_id.tolist())):
            method = "apportioned" if p in apportioned_pre else "crosswalk"
            loaded.extend((int(files[i]), int(recs[i]), method) for i in members[p])
        keys = pre.loc[pre_id, _REBASE_BY].astype(object).fillna("")
        contributors: dict[tuple, list[int]] = {}
        for k, t, p in zip(map(tuple, keys.to_numpy().tolist()), ok["target_code"].tolist(), pre_id.tolist(), strict=True):
            contributors.setdefault((*k, t), []).extend(members[p])
        for o in out.to_dict("records"):
            mem = sorted(set(contributors[(*(o[c] for c in _REBASE_BY), o["unit_code"])]),
                         key=lambda i: (files[i], rows[i]))
            first = mem[0]
            written = list(dict.fromkeys(n for n in names[mem] if isinstance(n, str) and n))
            notes = list(dict.fromkeys(n for n in comments[mem] if isinstance(n, str) and n))
            agg_rows.append({
                "period": o["period"], "sector": ctx.sector, "unit_code": o["unit_code"],
                "data_element": o["data_element"], "disaggregation": o["disaggregation"], "value": float(o["value"]),
                "unit_name": "; ".join(written) or None, "comment": "; ".join(notes) or None,
                "source_file": sources[first], "file_sha256": shas[first], "row_number": int(rows[first]),
                "match_method": "apportioned" if o["apportioned"] else "crosswalk",
                "source_units": o["source_units"], "rebase_complete": bool(o["complete"]),
                **_province_only_source(level, o["data_element"], ctx, src_keys[mem]),
                "_file": int(files[first]), "_rec": int(recs[first]), "_members": [leg.index[i] for i in mem],
                "value_text": _fmt_number(float(o["value"])),
            })
    agg = pd.DataFrame(agg_rows, columns=[*VALUE_COLUMNS, "_file", "_rec", "_members", "value_text"])
    loaded_df = pd.DataFrame(loaded, columns=["_file", "_rec", "match_method"]).drop_duplicates(["_file", "_rec"])
    return agg, loaded_df, pd.DataFrame(rejects, columns=_ASSEMBLY_REJECT_COLUMNS)


def _province_only_source(level: str, element: str, ctx: _Context, keys) -> dict[str, Any]:
    """A commune element loaded onto a province: old communes the crosswalk does not know
    (``pipelines/units/unmapped.py``): its match method, and those communes as written."""
    from pipelines.units.unmapped import METHOD

    if level != "province" or ctx.element_level.get(element) != "commune":
        return {}
    written = dict.fromkeys(str(k).partition("|")[2] for k in keys if isinstance(k, str))
    return {"match_method": METHOD, "source_units": ";".join(w for w in written if w)}


def _overlaps(cur: pd.DataFrame, leg: pd.DataFrame, agg: pd.DataFrame, staged: list[_Staged],
              multi_file: bool) -> tuple[pd.DataFrame, list[Any], list[Any]]:
    """Values given both for a 2025 unit and through the crosswalk: rejects for every copy (the 2025
    rows and every legacy row summed into the value), and the labels of the 2025 and legacy rows hit."""
    empty = pd.DataFrame(columns=_ASSEMBLY_REJECT_COLUMNS)
    if cur.empty or agg.empty:
        return empty, [], []
    agg_at = {tuple(k): i for i, k in enumerate(agg[DUPLICATE_KEY].astype(object).to_numpy().tolist())}
    cur_keys = [tuple(k) for k in cur[DUPLICATE_KEY].astype(object).to_numpy().tolist()]
    hits: dict[int, list[Any]] = {}
    for label, k in zip(cur.index, cur_keys, strict=True):
        if k in agg_at:
            hits.setdefault(agg_at[k], []).append(label)
    if not hits:
        return empty, [], []
    rows: list[dict[str, Any]] = []
    cur_hit: list[Any] = []
    leg_hit: list[Any] = []
    for a, labels in hits.items():
        g = agg.iloc[a]
        dis = g["disaggregation"]
        key_text = f"({g['period']}, {g['unit_code']}, {g['data_element']}{', ' + dis if dis else ''})"
        here = [_where(staged[int(cur.at[i, '_file'])].source_file, int(cur.at[i, "row_number"]), multi_file)
                for i in labels]
        new_vi = "; ".join(f"{w[0]} = {cur.at[i, 'value_text']}" for w, i in zip(here, labels, strict=True))
        new_en = "; ".join(f"{w[1]} = {cur.at[i, 'value_text']}" for w, i in zip(here, labels, strict=True))
        members = list(g["_members"])
        old = [_where(staged[int(leg.at[i, '_file'])].source_file, int(leg.at[i, "row_number"]), multi_file)
               for i in members[:5]]
        more = f", … (+{len(members) - 5})" if len(members) > 5 else ""
        old_vi = ", ".join(w[0] for w in old) + more
        old_en = ", ".join(w[1] for w in old) + more
        text = reason("units.scheme_overlap", key=key_text, new=(new_vi, new_en), sources=g["source_units"],
                      total=g["value_text"], old=(old_vi, old_en))
        for i in labels:
            rows.append({"_file": int(cur.at[i, "_file"]), "_rec": int(cur.at[i, "_rec"]), "column_name": "unit_code",
                         "value": cur.at[i, "unit_code"], "check_code": "units.scheme_overlap", "reason": text})
        for i in members:
            rows.append({"_file": int(leg.at[i, "_file"]), "_rec": int(leg.at[i, "_rec"]), "column_name": "unit_code",
                         "value": leg.at[i, "unit_code"], "check_code": "units.scheme_overlap", "reason": text})
        cur_hit.extend(labels)
        leg_hit.extend(members)
    return pd.DataFrame(rows, columns=_ASSEMBLY_REJECT_COLUMNS), cur_hit, leg_hit


def _records(df: pd.DataFrame, key: list[str]) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (much faster than ``DataFrame.to_dict``)."""
    cols = list(dict.fromkeys(["_file", "_rec", "row_number", "value", "value_text", "_label", "period",
                               "data_element", "disaggregation", *key]))
    lists = [df[c].tolist() for c in cols]
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*lists, strict=True)]


def _where(source: str, row: int, multi_file: bool) -> tuple[str, str]:
    name = source.rsplit("/", 1)[-1]
    if multi_file:
        return texts("fragment.where.file_row", row=row, name=name)
    return texts("fragment.where.row", row=row)


def _key_text(r: dict[str, Any]) -> str:
    dis = r["disaggregation"]
    return f"({r['period']}, {r['_label']}, {r['data_element']}{', ' + dis if dis else ''})"


def _fmt_number(v: float) -> str:
    if pd.isna(v):
        return ""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def _finish_rejects(staged: list[_Staged], assembly_rejects: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    frames = []
    for i, st in enumerate(staged):
        parts = [r for r in st.rejects if len(r)]
        more = assembly_rejects.loc[assembly_rejects["_file"] == i].drop(columns="_file")
        if len(more):
            parts.append(more)
        if not parts:
            continue
        rej = pd.concat(parts, ignore_index=True)
        if st.whole_file:
            rej["row_number"] = pd.array([pd.NA] * len(rej), dtype="Int64")
        else:
            recs = rej["_rec"].to_numpy(dtype=np.int64)
            rows = st.row_number(recs)
            if st.rec_rows is not None:  # a workbook: problems of a sheet or column have no row
                rej["row_number"] = pd.array([None if r < 0 else int(r) for r in rows], dtype="Int64")
                # a value problem names the workbook column's title
                titles = [st.rec_columns[r] for r in recs]
                rej["column_name"] = [t if c == "value" and t else c
                                      for c, t in zip(rej["column_name"].tolist(), titles, strict=True)]
            else:
                rej["row_number"] = pd.array(rows, dtype="Int64")
            rej["raw_record"] = [st.raw_record(int(r)) for r in recs]
        rej["source_file"] = st.source_file
        rej["file_sha256"] = st.sha256
        rej["period"] = ctx.period
        rej["sector"] = ctx.sector
        rej["_order"] = rej["check_code"].map({c: n for n, c in enumerate(CHECK_CODES)})
        frames.append(rej)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _REJECT_DTYPES.items()})
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["source_file", "row_number", "_order"], na_position="first", kind="stable")
    out = out[REJECT_COLUMNS].reset_index(drop=True).astype(_REJECT_DTYPES)
    for col in ("column_name", "value", "raw_record"):
        out[col] = out[col].where(out[col].notna(), None)
    return out


def _file_infos(staged: list[_Staged], loaded: pd.DataFrame, ctx: _Context) -> list[FileInfo]:
    counts = loaded.groupby(["_file", "match_method"]).size().to_dict() if len(loaded) else {}
    infos = []
    for i, st in enumerate(staged):
        by_method = {col: int(counts.get((i, m), 0)) for m, col in MATCH_METHODS.items()}
        n_loaded = sum(by_method.values())
        infos.append(FileInfo(
            source_file=st.source_file, file_sha256=st.sha256, encoding=st.encoding, rows_total=st.rows_total,
            rows_loaded=n_loaded, rows_rejected=st.rows_total - n_loaded, blank_rows=st.blank_rows,
            delimiter=st.delimiter, received_at=st.received_at, whole_file_rejected=st.whole_file,
            file_format=st.file_format, unit_scheme=st.unit_scheme, **by_method,
            apportion_rule=ctx.apportion_rule if LEGACY in st.schemes else None,
        ))
    return infos

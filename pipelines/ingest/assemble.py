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

    agg_cols: dict[str, list] = {c: [] for c in _AGG_COLUMNS}
    loaded: dict[str, list] = {"_file": [], "_rec": [], "match_method": []}
    rejects: dict[str, list] = {c: [] for c in _ASSEMBLY_REJECT_COLUMNS}
    flags = ctx.flag_elements
    positions = pd.Series(np.arange(len(leg)), index=leg.index)
    for (level, target), g in leg.groupby(["legacy_level", "target_level"], sort=True):
        # rows of one legacy unit and key are distinct former units merged into it (aliases): added first
        grouped = g.groupby([*_REBASE_BY, "unit_code"], sort=True)
        pre = grouped.agg(value_sum=("value", "sum"), value_max=("value", "max")).reset_index()
        gid = grouped.ngroup().to_numpy()
        order = np.argsort(gid, kind="stable")
        members = _Members(gid[order], positions[g.index].to_numpy()[order], len(pre))
        pre["value"] = pre["value_max"].where(pre["data_element"].isin(flags), pre["value_sum"])
        pre["row_number"] = np.arange(len(pre))  # passed through to the decisions
        out, dec = rebase_values(pre[[*_REBASE_BY, "unit_code", "value", "row_number"]], level,
                                 rule=ctx.apportion_rule, flag_elements=flags, target_level=target, by=_REBASE_BY)
        rejected = (dec["status"] == "rejected").to_numpy()
        _rebase_rejects(dec[rejected], members, leg, rejects)
        ok = dec[~rejected]
        pre_id = ok["row_number"].astype("int64").to_numpy()
        _rebase_loaded(pre_id, (ok["status"] == "apportioned").to_numpy(), members, leg, loaded)
        out_of_ok = _out_rows(out, pre.loc[pre_id, _REBASE_BY], ok["target_code"])
        _rebase_values_rows(out, _contributors(out_of_ok, pre_id, members, leg, len(out)), leg, level, ctx,
                            agg_cols)
    loaded_df = _frame(loaded, ["_file", "_rec", "match_method"]).drop_duplicates(["_file", "_rec"])
    return _frame(agg_cols, _AGG_COLUMNS), loaded_df, _frame(rejects, _ASSEMBLY_REJECT_COLUMNS)


def _frame(cols: dict[str, list], columns: list[str]) -> pd.DataFrame:
    """A frame of the column lists (no rows: every column of dtype object)."""
    if not cols[columns[0]]:
        return pd.DataFrame([], columns=columns)
    return pd.DataFrame(cols, columns=columns)


_AGG_COLUMNS = [*VALUE_COLUMNS, "_file", "_rec", "_members", "value_text"]


class _Members:
    """The input rows (positions in ``leg``) summed into each pre-summed row, sorted by pre-summed row."""

    def __init__(self, pre: np.ndarray, pos: np.ndarray, n: int):
        self.pos = pos
        self.count = np.bincount(pre, minlength=n)
        self.offset = np.cumsum(self.count) - self.count

    def expand(self, pre_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``pre_ids`` in turn, its members: (index into ``pre_ids``, position in ``leg``)."""
        counts = self.count[pre_ids]
        which = np.repeat(np.arange(len(pre_ids)), counts)
        within = np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
        return which, self.pos[self.offset[pre_ids][which] + within]


def _rebase_rejects(dec: pd.DataFrame, members: _Members, leg: pd.DataFrame, rejects: dict[str, list]) -> None:
    """Every input row of a rejected pre-summed row, with the decision's check and reason."""
    which, pos = members.expand(dec["row_number"].astype("int64").to_numpy())
    rejects["_file"] += leg["_file"].to_numpy()[pos].tolist()
    rejects["_rec"] += leg["_rec"].to_numpy()[pos].tolist()
    rejects["column_name"] += ["unit_code"] * len(pos)
    rejects["value"] += leg["unit_code"].to_numpy(dtype=object)[pos].tolist()
    rejects["check_code"] += dec["check_code"].to_numpy(dtype=object)[which].tolist()
    rejects["reason"] += dec["reason"].to_numpy(dtype=object)[which].tolist()


def _rebase_loaded(pre_id: np.ndarray, split: np.ndarray, members: _Members, leg: pd.DataFrame,
                   loaded: dict[str, list]) -> None:
    """The input rows loaded, by pre-summed row: 'apportioned' when some of it went to a split commune."""
    ids = np.unique(pre_id)
    apportioned = np.isin(ids, pre_id[split])
    which, pos = members.expand(ids)
    loaded["_file"] += leg["_file"].to_numpy()[pos].tolist()
    loaded["_rec"] += leg["_rec"].to_numpy()[pos].tolist()
    loaded["match_method"] += np.where(apportioned[which], "apportioned", "crosswalk").tolist()


def _out_rows(out: pd.DataFrame, keys: pd.DataFrame, targets: pd.Series) -> np.ndarray:
    """For each accepted decision (its key and target), the row of ``out`` it was summed into."""
    left = keys.astype(object).fillna("").reset_index(drop=True).assign(unit_code=targets.to_numpy(dtype=object))
    right = out[[*_REBASE_BY, "unit_code"]].astype(object).assign(_out=np.arange(len(out)))
    found = left.merge(right, on=[*_REBASE_BY, "unit_code"], how="left", sort=False)["_out"]
    if found.isna().any() or len(found) != len(left):
        raise RuntimeError("a rebased value does not match its decisions")
    return found.to_numpy(dtype="int64")


def _contributors(out_of_ok: np.ndarray, pre_id: np.ndarray, members: _Members, leg: pd.DataFrame,
                  n_out: int) -> pd.DataFrame:
    """The input rows summed into each row of ``out`` (``_out``, ``pos``), each once, in file and row order."""
    which, pos = members.expand(pre_id)
    c = pd.DataFrame({"_out": out_of_ok[which], "pos": pos})
    c["file"] = leg["_file"].to_numpy()[pos]
    c["row"] = leg["row_number"].to_numpy()[pos]
    listed = c.drop_duplicates(["_out", "pos"])
    ranked = listed.sort_values(["_out", "file", "row", "pos"], kind="stable")
    ties = ranked.duplicated(["_out", "file", "row"], keep=False).to_numpy()
    if ties.any():  # two rows at one place of a file (sheets): the order Python's sort of the set gives
        for o in np.unique(ranked["_out"].to_numpy()[ties]).tolist():
            mine = c.loc[c["_out"] == o]
            key = dict(zip(mine["pos"].tolist(), zip(mine["file"].tolist(), mine["row"].tolist())))
            order = sorted(set(mine["pos"].tolist()), key=lambda i: key[i])
            block = ranked["_out"].to_numpy() == o
            ranked.loc[block, "pos"] = order
    if ranked["_out"].nunique() != n_out:
        raise RuntimeError("a rebased value has no input row")
    return ranked[["_out", "pos"]].reset_index(drop=True)


def _joined(groups: np.ndarray, texts: np.ndarray, n: int, sep: str) -> np.ndarray:
    """The distinct non-empty texts of each group (0..n-1), in order, joined by ``sep``: None for none."""
    keep = np.fromiter((isinstance(t, str) and t != "" for t in texts), dtype=bool, count=len(texts))
    d = pd.DataFrame({"g": groups[keep], "t": texts[keep]}).drop_duplicates()
    g, t = d["g"].to_numpy(), d["t"].tolist()
    result = np.full(n, None, dtype=object)
    if len(g):
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        ends = np.r_[starts[1:], len(g)]
        result[g[starts]] = [sep.join(t[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    return result


def _rebase_values_rows(out: pd.DataFrame, contrib: pd.DataFrame, leg: pd.DataFrame, level: str, ctx: _Context,
                        cols: dict[str, list]) -> None:
    """One value per row of ``out``, taking its source from the first input row summed (in file and row order)
    and the names and comments written on every row summed; appended to ``cols``."""
    from pipelines.units.unmapped import METHOD

    n = len(out)
    if n == 0:
        return
    g, pos = contrib["_out"].to_numpy(), contrib["pos"].to_numpy()
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    first = pos[starts]
    labels = leg.index.to_numpy()
    values = out["value"].astype(float).tolist()
    method = np.where(out["apportioned"].to_numpy(dtype=bool), "apportioned", "crosswalk").astype(object)
    source_units = out["source_units"].to_numpy(dtype=object).copy()
    if level == "province":  # a commune element loaded onto a province: the old communes as written
        elements = out["data_element"].to_numpy(dtype=object)
        only = np.fromiter((ctx.element_level.get(e) == "commune" for e in elements), dtype=bool, count=n)
        if only.any():
            keys = leg["src_key"].to_numpy(dtype=object)[pos]
            written = np.array([k.partition("|")[2] if isinstance(k, str) else None for k in keys], dtype=object)
            joined = _joined(g, written, n, ";")
            method[only] = METHOD
            source_units[only] = [j if j is not None else "" for j in joined[only]]
    names = _joined(g, leg["unit_name"].to_numpy(dtype=object)[pos], n, "; ")
    notes = _joined(g, leg["comment"].to_numpy(dtype=object)[pos], n, "; ")
    for c in ("period", "unit_code", "data_element", "disaggregation"):
        cols[c] += out[c].to_numpy(dtype=object).tolist()
    cols["sector"] += [ctx.sector] * n
    cols["value"] += values
    cols["unit_name"] += names.tolist()
    cols["comment"] += notes.tolist()
    cols["source_file"] += leg["source_file"].to_numpy(dtype=object)[first].tolist()
    cols["file_sha256"] += leg["file_sha256"].to_numpy(dtype=object)[first].tolist()
    cols["row_number"] += leg["row_number"].to_numpy()[first].astype("int64").tolist()
    cols["match_method"] += method.tolist()
    cols["source_units"] += source_units.tolist()
    cols["rebase_complete"] += out["complete"].to_numpy(dtype=bool).tolist()
    cols["_file"] += leg["_file"].to_numpy()[first].astype("int64").tolist()
    cols["_rec"] += leg["_rec"].to_numpy()[first].astype("int64").tolist()
    cols["_members"] += [list(labels[pos[a:b]]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    cols["value_text"] += [_fmt_number(v) for v in values]


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

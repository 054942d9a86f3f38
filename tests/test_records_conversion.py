"""The disclosure audit's row conversion gives exactly what ``DataFrame.to_dict("records")`` gives, faster."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipelines.publish.disclosure_audit import _records


def test_records_match_to_dict_for_every_kind_of_column():
    df = pd.DataFrame({
        "f": [1.5, np.nan], "i": [1, 2], "b": [True, False], "s": ["xã", None],
        "o": pd.Series(["x", None], dtype=object), "d": pd.to_datetime(["2025-01-01", None]),
        "F": pd.array([2.5, None], dtype="Float64"), "I": pd.array([3, None], dtype="Int64"),
        "B": pd.array([True, None], dtype="boolean"), "S": pd.array(["01", None], dtype="string[pyarrow]"),
    })
    got, want = _records(df), df.to_dict("records")
    assert [list(r) for r in got] == [list(r) for r in want]
    for g, w in zip(got, want):
        for k in w:
            assert type(g[k]) is type(w[k]) and repr(g[k]) == repr(w[k]), k
    # by hand: the first row as written, the second row's masked and Arrow-backed missing values are None
    assert got[0] == {"f": 1.5, "i": 1, "b": True, "s": "xã", "o": "x", "d": pd.Timestamp("2025-01-01"),
                      "F": 2.5, "I": 3, "B": True, "S": "01"}
    assert (got[1]["F"], got[1]["I"], got[1]["B"], got[1]["S"], got[1]["o"]) == (None, None, None, None, None)
    assert math.isnan(got[1]["f"]) and got[1]["d"] is pd.NaT


def test_records_of_an_empty_frame():
    assert _records(pd.DataFrame({"a": pd.array([], dtype="Int64")})) == []

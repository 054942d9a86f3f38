"""The audit of the written files reuses protection's audit of a province only when the files say exactly what was
audited; anything else is audited in full (small hand-made releases of two provinces)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.publish.disclosure_audit import AUDITED_TABLES, audit_release_folder, audit_tables
from pipelines.publish.disclosure_memo import AuditMemo, province_fingerprints
from pipelines.publish.disclosure_protect import Sources, protect
from pipelines.publish.release import _audit_written
from pipelines.publish.sources import ReleaseError
from tests.test_disclosure_audit import MODEL, M, interval, release, sources_of, truth_of

# province 01: P (1 case) is hidden; 12 - 6 - 5 = 1 gives it away until R (5, the smallest count above 0) is hidden
# with it. Province 02: A (2) and B (3) are hidden together; C (7) is published: A + B = 12 - 7 = 5
ONE = {"P": (1, 5000, True), "Q": (6, 5000, False), "R": (5, 5000, False)}
TWO = {"A": (2, 5000, True), "B": (3, 5000, True), "C": (7, 5000, False)}


def _in(province: str, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {name: df.assign(province_code=province) for name, df in tables.items()}
    iv = out["indicator_values"]
    out["indicator_values"] = iv.assign(unit_code=np.where(iv["unit_level"] == "province", province, iv["unit_code"]))
    return out


def _both(one, two) -> dict[str, pd.DataFrame]:
    return {name: pd.concat([one[name], two[name]], ignore_index=True) for name in one}


def _protected():
    tables = _both(_in("01", release(ONE)), _in("02", release(TWO)))
    truth = pd.concat([truth_of(ONE), truth_of(TWO).assign(province_code="02")], ignore_index=True)
    s1, s2 = sources_of(ONE), sources_of(TWO)
    s2.indicator_values = _in("02", {"indicator_values": s2.indicator_values})["indicator_values"]
    sources = Sources(*(pd.concat([a, b], ignore_index=True) for a, b in
                        ((s1.indicator_values, s2.indicator_values), (s1.assessment, s2.assessment),
                         (s1.ranking, s2.ranking))))
    return protect(tables, truth, sources, M, MODEL)


def _write(folder, tables) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)


def test_the_files_as_audited_reuse_every_province_with_the_same_result(tmp_path):
    done = _protected()
    assert done.audit.ok and done.hidden == {("P", "ABUSE_CASES"), ("R", "ABUSE_CASES"), ("A", "ABUSE_CASES"),
                                             ("B", "ABUSE_CASES")}
    _write(tmp_path / "v1", done.tables)  # read back from Parquet: other dtypes, the same values
    full = audit_release_folder(tmp_path / "v1", M, MODEL)
    reused = audit_release_folder(tmp_path / "v1", M, MODEL, memo=done.memo)
    assert full.reused == 0 and reused.reused == 2  # both provinces taken from protection's audit
    # by hand: P + R = 12 - 6 = 6, each 0 to 6; A + B = 5, each 0 to 5
    assert interval(reused, "P") == interval(full, "P") == (0, 6)
    assert interval(reused, "A") == interval(full, "A") == (0, 5)
    pd.testing.assert_frame_equal(reused.cells, full.cells)
    assert {k: v for k, v in reused.summary().items() if k != "seconds"} == \
        {k: v for k, v in full.summary().items() if k != "seconds"}


def test_a_changed_file_is_audited_in_full_and_refused_when_it_discloses(tmp_path):
    done = _protected()
    tampered = dict(done.tables)
    iv = tampered["indicator_values"].copy()
    r = (iv["unit_code"] == "R") & (iv["unit_level"] == "commune")
    iv.loc[r, ["numerator", "suppressed"]] = [5.0, False]  # R published again: P = 12 - 6 - 5 = 1
    tampered["indicator_values"] = iv
    _write(tmp_path / "v1", tampered)
    memo = done.memo
    result = audit_release_folder(tmp_path / "v1", M, MODEL, memo=memo)
    assert result.reused == 1 and not result.ok  # province 02 unchanged; 01 solved again
    assert interval(result, "P") == (1, 1) and set(result.exposed["commune_code"]) == {"P"}
    with pytest.raises(ReleaseError, match="P \\(province 01\\): a reader can narrow the suppressed count to 1"):
        _audit_written(lambda folder, version: audit_release_folder(folder, M, MODEL, memo=memo), tmp_path / "v1", 1,
                       {})


def test_a_version_published_meanwhile_is_audited_with_the_files(tmp_path):
    # protection saw no earlier version; the period now holds v1, which publishes B = 3: A = 2, exposed
    done = _protected()
    earlier = dict(done.tables)
    iv = earlier["indicator_values"].copy()
    iv.loc[(iv["unit_code"] == "B") & (iv["unit_level"] == "commune"), ["numerator", "suppressed"]] = [3.0, False]
    earlier["indicator_values"] = iv
    _write(tmp_path / "v1", earlier)
    _write(tmp_path / "v2", done.tables)
    result = audit_release_folder(tmp_path / "v2", M, MODEL, period_dir=tmp_path, version=2, memo=done.memo)
    # nothing as protection audited it: 01 says the same in v1 and v2, read once but as the repeats it stands for
    # (protection read it alone); 02 is solved with v1
    assert result.reused == 0 and interval(result, "A") == (2, 2) and not result.ok


def test_the_fingerprint_reads_values_as_the_audit_does():
    base = release(ONE)
    fp = province_fingerprints(base, AUDITED_TABLES)["01"]
    iv = base["indicator_values"]
    arrow = iv.astype({"numerator": "float64[pyarrow]", "suppressed": "bool[pyarrow]", "unit_code": "string"})
    assert province_fingerprints({**base, "indicator_values": arrow}, AUDITED_TABLES)["01"] == fp  # other dtypes
    nan = iv.assign(score=np.nan)  # None and NaN: both empty to the audit
    assert province_fingerprints({**base, "indicator_values": nan}, AUDITED_TABLES)["01"] == fp
    for column, value in (("numerator", 6), ("unit_name", "Q "), ("suppressed", 0), ("denominator", 5000.5)):
        changed = iv.astype({column: object}).copy()  # an int, text, not a bool, a value
        changed.loc[changed["unit_code"] == "Q", column] = value
        assert province_fingerprints({**base, "indicator_values": changed}, AUDITED_TABLES)["01"] != fp, column
    moved = iv.iloc[[1, 0, *range(2, len(iv))]]  # the same rows in another order
    assert province_fingerprints({**base, "indicator_values": moved}, AUDITED_TABLES)["01"] != fp
    two = _both(_in("01", base), _in("02", release(TWO)))  # another province beside it: 01 unchanged
    assert province_fingerprints(two, AUDITED_TABLES)["01"] == fp


def test_an_empty_memo_gives_the_audit_without_one():
    tables = _both(_in("01", release(ONE)), _in("02", release(TWO)))
    memo = AuditMemo()
    first, again = audit_tables([tables], M, MODEL, memo=memo), audit_tables([tables], M, MODEL, memo=memo)
    plain = audit_tables([tables], M, MODEL)
    assert (first.reused, again.reused, memo.hits, memo.misses) == (0, 2, 2, 2)
    assert interval(plain, "P") == interval(first, "P") == interval(again, "P") == (1, 1)
    pd.testing.assert_frame_equal(first.cells, plain.cells)
    pd.testing.assert_frame_equal(again.cells, plain.cells)


# several versions of the period: S hides P and R (P + R = 12 - 6 = 6); T hides P and Q, publishing R = 5
S = {"P": (1, 5000, True), "Q": (6, 5000, False), "R": (5, 5000, True)}
T = {"P": (1, 5000, True), "Q": (6, 5000, True), "R": (5, 5000, False)}


@pytest.mark.parametrize("exact", [True, False])
def test_versions_that_repeat_another_give_the_audit_of_every_version(exact):
    two = _in("02", release(TWO))
    same = [_both(_in("01", release(S)), two) for _ in range(4)]  # published four times with the same figures
    full, short = (audit_tables(same, M, MODEL, exact=exact, distinct=d) for d in (False, True))
    assert interval(short, "P") == interval(full, "P") == (0, 6) and interval(short, "A") == (0, 5)
    assert short.ok and full.ok
    # S, T, S, T: together R = 5 (T), Q = 6 (S), so P = 12 - 6 - 5 = 1 whatever the repeats
    mixed = [_both(_in("01", release(v)), two) for v in (S, T, S, T)]
    full, short = (audit_tables(mixed, M, MODEL, exact=exact, distinct=d) for d in (False, True))
    assert interval(short, "P") == interval(full, "P") == (1, 1) and interval(short, "Q") == (6, 6)
    pd.testing.assert_frame_equal(short.exposed, full.exposed)
    if exact:  # every interval exact: the same cell by cell
        pd.testing.assert_frame_equal(short.cells, full.cells)


def test_a_correction_between_repeated_versions_is_still_read():
    # S, then T (a correction), then S again as the release: T's R = 5 is still known, P = 1
    versions = [_in("01", release(v)) for v in (S, T, S)]
    short = audit_tables(versions, M, MODEL)
    assert interval(short, "P") == (1, 1) and not short.ok
    assert audit_tables([versions[0], versions[2]], M, MODEL).ok  # without T: P + R = 6, 0 to 6

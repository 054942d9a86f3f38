"""Hostile and broken releases and the operator: previous ranks, history.jsonl, latest.json, errors.

Each case is a small fixture (the tiny warehouse of ``tests/test_publish.py``,
3 provinces, 2024 and 2025 in the marts) and asserts the exact outcome: what
the release holds, what ``cri releases verify`` finds, the sentence the
operator reads, and that what was published stays byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PERIOD = "2025"


# -- releases: previous ranks as published, history.jsonl, latest.json ------------------------------------


@pytest.fixture
def release_env(tmp_path):
    """The tiny warehouse of the release tests (3 provinces, 2024 and 2025 in the marts), nothing published."""
    from pipelines.methodology import load_methodology
    from pipelines.settings import DEFAULT_METHODOLOGY, Settings
    from tests.test_publish import make_warehouse

    m = load_methodology(DEFAULT_METHODOLOGY)
    wh = make_warehouse(tmp_path / "warehouse.duckdb", m)
    return Settings(home=tmp_path, methodology_path=Path(DEFAULT_METHODOLOGY)), wh, m


def _publish(env, period=PERIOD):
    from pipelines.publish.release import publish_period
    from pipelines.warehouse import connect

    settings, wh, m = env
    with connect(wh, read_only=True) as con:
        return publish_period(con, period, settings, m)


def _ranking(result) -> dict[str, tuple]:
    import pandas as pd

    df = pd.read_parquet(result.path / "province_ranking.parquet")
    return {r.province_code: (None if pd.isna(r.previous_rank) else int(r.previous_rank),
                              None if pd.isna(r.rank_change) else int(r.rank_change))
            for r in df.itertuples(index=False)}


def test_previous_ranks_come_from_the_previous_release_not_the_warehouse(release_env):
    # the 2024 release ranks 01 first and 04 second (79 not ranked); the warehouse's own previous ranks
    # for 2025 say otherwise (01: 2, 04: 1, 79: 2), as after a rebuild or a recomputed 2024
    v2024 = _publish(release_env, "2024")
    v2025 = _publish(release_env)
    assert _ranking(v2025) == {"01": (1, 0), "04": (2, 0), "79": (None, None)}
    previous = v2025.manifest["previous_ranks"]
    assert previous["period"] == "2024" and previous["release"] == f"v{v2024.version}"
    assert previous["source"] == "publish/2024/v1/province_ranking.parquet"
    # the CSV and the workbook's source table agree with the Parquet
    import pandas as pd

    csv = pd.read_csv(v2025.path / "province_ranking.csv", encoding="utf-8-sig", dtype=str,
                      keep_default_na=False).set_index("province_code")
    assert (csv.loc["01", "previous_rank"], csv.loc["04", "rank_change"], csv.loc["79", "previous_rank"]) == (
        "1", "0", "")


def test_without_a_previous_release_previous_ranks_are_empty_and_said(release_env):
    from pipelines.publish.previous import previous_release

    settings, _, _ = release_env
    result = _publish(release_env)
    assert _ranking(result) == {"01": (None, None), "04": (None, None), "79": (None, None)}
    note = result.manifest["previous_ranks"]
    assert note["release"] is None and "no release of 2024" in note["note"]
    check = previous_release(settings.publish_dir, PERIOD)
    assert (check.code, check.severity, check.passed) == ("output.previous_release", "warning", False)
    assert "previous_rank and rank_change are left empty" in check.message


def test_a_previous_release_that_was_altered_is_not_used(release_env):
    settings, _, _ = release_env
    v2024 = _publish(release_env, "2024")
    with open(v2024.path / "province_ranking.parquet", "ab") as fh:
        fh.write(b"tampered")
    result = _publish(release_env)
    assert _ranking(result)["01"] == (None, None)
    assert "does not match its manifest" in result.manifest["previous_ranks"]["note"]


def test_history_records_each_version_outside_the_release(release_env):
    import hashlib
    import json

    settings, _, _ = release_env
    v1, v2 = _publish(release_env), _publish(release_env)
    lines = (settings.publish_dir / PERIOD / "history.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["version"], e["event"]) for e in entries] == [(1, "published"), (2, "published")]
    for e, r in zip(entries, (v1, v2)):
        assert e["manifest_sha256"] == hashlib.sha256((r.path / "manifest.json").read_bytes()).hexdigest()
        assert e["time"].endswith("Z")


def test_verify_catches_an_edited_manifest_of_a_non_latest_release(release_env):
    from pipelines.publish.verify import verify_release

    settings, _, _ = release_env
    v1 = _publish(release_env)
    _publish(release_env)
    assert verify_release(settings.publish_dir, PERIOD).ok
    manifest = v1.path / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"v1"', '"v1" '), encoding="utf-8")
    result = verify_release(settings.publish_dir, PERIOD)  # verifies v2, the latest, and every manifest
    assert not result.ok and result.version == 2 and not result.changed
    assert result.problems == ["v1/manifest.json changed since it was published (its sha256 is not the one "
                               "recorded in history.jsonl)"]


def test_verify_catches_a_deleted_latest_json_and_run_puts_it_back(release_env):
    from pipelines.publish.verify import repair_latest
    from pipelines.publish.verify import verify_release

    settings, _, _ = release_env
    _publish(release_env)
    _publish(release_env)
    period_dir = settings.publish_dir / PERIOD
    before = (period_dir / "latest.json").read_bytes()
    (period_dir / "latest.json").unlink()
    result = verify_release(settings.publish_dir, PERIOD)
    assert not result.ok and "latest.json is missing" in result.problems
    assert repair_latest(period_dir) == "latest.json was missing; put back from history.jsonl: latest.json now names v2"
    import json

    assert {k: v for k, v in json.loads((period_dir / "latest.json").read_text(encoding="utf-8")).items()} == \
        json.loads(before)
    assert verify_release(settings.publish_dir, PERIOD).ok


def test_verify_with_a_version_catches_a_truncated_latest_json(release_env):
    from pipelines.publish.history import ReleaseError, read_latest
    from pipelines.publish.verify import verify_release

    settings, _, _ = release_env
    _publish(release_env)
    _publish(release_env)
    latest = settings.publish_dir / PERIOD / "latest.json"
    latest.write_bytes(latest.read_bytes()[:20])
    result = verify_release(settings.publish_dir, PERIOD, version=1)
    assert not result.ok and result.version == 1 and result.checked > 0
    assert any(p.startswith("latest.json cannot be read (cut short or not JSON") for p in result.problems)
    with pytest.raises(ReleaseError, match="'cri run' puts it back from history.jsonl"):
        read_latest(settings.publish_dir, PERIOD)
    # the next release puts latest.json back first, then publishes v3; v1 and v2 unchanged
    assert _publish(release_env).version == 3
    assert verify_release(settings.publish_dir, PERIOD).ok


def test_a_broken_latest_json_without_history_is_refused_in_plain_words(release_env, monkeypatch, capsys):
    from pipelines import cli

    settings, _, _ = release_env
    _publish(release_env)
    period_dir = settings.publish_dir / PERIOD
    (period_dir / "history.jsonl").unlink()
    (period_dir / "v1" / "manifest.json").write_text("{}", encoding="utf-8")  # no complete version left
    (period_dir / "latest.json").write_text('{"period": "2025", "vers', encoding="utf-8")
    snapshot = {p: p.read_bytes() for p in period_dir.rglob("*") if p.is_file()}
    monkeypatch.setenv("CRI_HOME", str(settings.home))
    code = cli.main(["run", "--period", PERIOD])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.out + out.err
    assert "latest.json cannot be read (cut short or not JSON" in out.out
    assert "names no complete version to put back" in out.out
    assert {p: p.read_bytes() for p in period_dir.rglob("*") if p.is_file()} == snapshot


# -- errors reach the operator as sentences, with the whole cause -------------------------------------------


@pytest.mark.parametrize(("change", "words"), [
    (lambda text: text.replace("quality:\n", "quality:\n  - broken\n", 1), "not a readable UTF-8 YAML file"),
    (lambda text: text.replace("numerator: [CHILD_BUDGET_VND]", "numerator: [CHILD_BUDGET_VN]", 1),
     "indicators[R1_BUDGET_PER_CHILD]: numerator names unknown data element 'CHILD_BUDGET_VN'"),
])
def test_a_methodology_typo_is_a_sentence_not_a_traceback(tmp_path, monkeypatch, capsys, change, words):
    from pipelines import cli
    from pipelines.settings import DEFAULT_METHODOLOGY

    path = tmp_path / "typo.yaml"
    path.write_text(change(DEFAULT_METHODOLOGY.read_text(encoding="utf-8")), encoding="utf-8")
    monkeypatch.setenv("CRI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRI_METHODOLOGY", str(path))
    code = cli.main(["run", "--period", PERIOD])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.out + out.err
    failure = next(line for line in out.out.splitlines() if line.lstrip().startswith("✗"))
    assert str(path) in failure and words in out.out
    assert not (tmp_path / "home" / "publish" / PERIOD).exists()


def _error(cls_name: str, message: str, cause=None):
    from types import SimpleNamespace

    return SimpleNamespace(cls_name=cls_name, message=message, cause=cause, context=None)


def test_a_step_failure_is_told_with_its_whole_cause():
    from pipelines.ops.errors import error_text, indented

    err = _error("DagsterExecutionStepExecutionError",
                 'dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "x":\n',
                 _error("ReleaseError", "pipelines.publish.release.ReleaseError: the warehouse has no table "
                                        "marts.fct_province_ranking\n(run the dbt models first)\n",
                        _error("KeyError", "KeyError: 'rank'\n")))
    assert error_text(err) == ("ReleaseError: the warehouse has no table marts.fct_province_ranking\n"
                               "(run the dbt models first)\nKeyError: 'rank'")
    failure = _error("Failure", "dagster._core.definitions.events.Failure: Không công bố / publication blocked:\n"
                                "- a\n- b\n")
    assert error_text(failure) == "Không công bố / publication blocked:\n- a\n- b"
    assert indented("publish__release: " + error_text(failure)) == (
        "  ✗ publish__release: Không công bố / publication blocked:\n    - a\n    - b")


def test_the_run_summary_prints_every_line_of_an_error(capsys):
    from pipelines import cli

    cli.print_outcome(cli.RunOutcome(period=PERIOD, success=False, published=False, release_dir=None,
                                     errors=["publish__release: blocked:\n- first cause\n- second cause"],
                                     notes=["latest.json was missing; put back from history.jsonl"]))
    out = capsys.readouterr().out
    assert "  ✗ publish__release: blocked:\n    - first cause\n    - second cause" in out
    assert "  ! latest.json was missing; put back from history.jsonl" in out


def test_releases_verify_prints_the_problems_and_fails(release_env, monkeypatch, capsys):
    from pipelines import cli

    settings, _, _ = release_env
    _publish(release_env)
    _publish(release_env)
    (settings.publish_dir / PERIOD / "latest.json").unlink()
    monkeypatch.setenv("CRI_HOME", str(settings.home))
    assert cli.main(["releases", "verify", PERIOD]) == 1
    assert "latest.json is missing" in capsys.readouterr().out


def test_releases_list_still_lists_with_a_truncated_latest_json(release_env):
    from pipelines.publish.verify import list_releases

    settings, _, _ = release_env
    _publish(release_env)
    (settings.publish_dir / PERIOD / "latest.json").write_text('{"vers', encoding="utf-8")
    assert [(r.version, r.latest) for r in list_releases(settings.publish_dir)] == [(1, False)]


def test_a_version_taken_back_is_withdrawn_in_the_history(release_env, monkeypatch):
    import json

    from pipelines.publish import release
    from pipelines.publish.verify import verify_release

    settings, _, _ = release_env
    _publish(release_env)

    def full_disk(period_dir, content):
        raise OSError("No space left on device")

    monkeypatch.setattr(release, "write_latest", full_disk)
    with pytest.raises(OSError, match="No space left"):
        _publish(release_env)
    monkeypatch.undo()
    period_dir = settings.publish_dir / PERIOD
    events = [(e["version"], e["event"]) for e in map(json.loads, (period_dir / "history.jsonl").read_text(
        encoding="utf-8").splitlines())]
    assert events == [(1, "published"), (2, "published"), (2, "withdrawn")]
    assert not (period_dir / "v2").exists() and verify_release(settings.publish_dir, PERIOD).ok
    assert _publish(release_env).version == 2  # the number of a version never published is given again

"""An operator's day: the first look of the landing sensor, runs named in the UI, the UI's port."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from pipelines.schedules import landing
from pipelines.lock import warehouse_lock
from pipelines.warehouse import connect, ensure_schema


def _write(path: Path, text: str, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def _ingested(home: Path, files: dict[str, str]) -> None:
    """What a finished run leaves in raw.ingest_files: each landing file's path and sha256."""
    with connect(home / "warehouse.duckdb") as con:
        ensure_schema(con)
        for rel, sha in files.items():
            period, sector, _ = rel.split("/", 2)
            con.execute("insert into raw.ingest_files (period, sector, source_file, file_sha256, rows_total, "
                        "rows_loaded, rows_rejected, loaded_at) values (?, ?, ?, ?, 1, 1, 0, now())",
                        [period, sector, rel, sha])


def test_first_tick_starts_from_what_runs_already_ingested(cri_home):
    old = time.time() - 3600
    done = _write(cri_home / "landing/2025/health/h.csv", "a\n1\n", old)
    also = _write(cri_home / "landing/2024/police/p.csv", "a\n2\n", old)
    _ingested(cri_home, {"2025/health/h.csv": landing.sha256_file(done),
                         "2024/police/p.csv": landing.sha256_file(also)})

    result = landing.evaluate_landing(None, settle=0)
    assert isinstance(result, dg.SensorResult) and not result.run_requests  # a quiet first start
    cursor = result.cursor
    assert set(landing.read_cursor(cursor)) == {"2025/health/h.csv", "2024/police/p.csv"}

    # a file the runs have not seen, and one changed since: only their periods are drafted
    _write(cri_home / "landing/2025/education/e.csv", "a\n3\n", old)
    _write(also, "a\n5\n", old + 60)
    result = landing.evaluate_landing(cursor, settle=0)
    assert sorted((r.partition_key, r.tags["cri/changes"]) for r in result.run_requests) == [
        ("2024", "~police/p.csv"), ("2025", "+education/e.csv")]


def test_first_tick_drafts_a_file_that_differs_from_the_ingested_one(cri_home):
    f = _write(cri_home / "landing/2025/health/h.csv", "a\n1\n", time.time() - 3600)
    _ingested(cri_home, {"2025/health/h.csv": "0" * 64})  # the run read an earlier content
    result = landing.evaluate_landing(None, settle=0)
    assert [(r.partition_key, r.tags["cri/changes"]) for r in result.run_requests] == [("2025", "~health/h.csv")]
    assert f.exists()


def test_first_tick_waits_while_a_run_holds_the_warehouse(cri_home):
    _write(cri_home / "landing/2025/health/h.csv", "a\n1\n", time.time() - 3600)
    _ingested(cri_home, {})
    with warehouse_lock("cri run 2025"):
        result = landing.evaluate_landing(None, settle=0)
    assert isinstance(result, dg.SkipReason) and "holds the warehouse" in result.skip_message


def test_descriptions_render_in_the_ui():
    """Dagster renders descriptions as Markdown: a bare ``<period>`` would vanish as an HTML tag."""
    import re

    from pipelines.definitions import defs

    bare = re.compile(r"<[^<>\s`]{1,20}>")
    repo = defs.get_repository_def()
    texts = {}
    for key, node in repo.assets_defs_by_key.items():
        texts[f"asset {key.to_user_string()}"] = node.descriptions_by_key.get(key)
        texts.update({f"check {s.name}": s.description for s in node.check_specs})
    texts.update({f"job {j.name}": j.description for j in repo.get_all_jobs()})
    texts.update({f"automation {s.name}": s.description for s in [*repo.sensor_defs, *repo.schedule_defs]})
    assert len(texts) > 40
    found = {name: bare.findall(re.sub(r"`[^`]*`", "", text)) for name, text in texts.items() if text}
    assert {name: tags for name, tags in found.items() if tags} == {}

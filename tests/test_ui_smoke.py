"""Smoke test of the Dagster UI: start the webserver on 127.0.0.1, read the graph and the checks, stop it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipelines.methodology import load_methodology
from pipelines.settings import DEFAULT_METHODOLOGY, REPO_ROOT, get_settings

STARTUP_TIMEOUT = 90

ASSETS = """
{
  assetNodes {
    assetKey { path }
    groupName
    description
    dependencyKeys { path }
    owners { ... on TeamAssetOwner { team } }
    tags { key value }
    assetChecksOrError { ... on AssetChecks { checks { name blocking description } } }
  }
}
"""

REPOSITORY = """
{
  repositoryOrError(repositorySelector: {repositoryLocationName: "cri", repositoryName: "__repository__"}) {
    __typename
    ... on Repository {
      jobs { name }
      schedules { name cronSchedule executionTimezone }
      sensors { name }
    }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        doc = json.loads(response.read())
    assert "errors" not in doc, doc["errors"]
    return doc["data"]


@pytest.fixture
def webserver(cri_home: Path):
    get_settings().ensure_dirs()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(cri_home / "webserver.log", "w+b")  # noqa: SIM115
    exe = Path(sys.executable).parent / "dagster-webserver"
    proc = subprocess.Popen(
        [str(exe), "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    started = time.monotonic()
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the webserver exited ({proc.returncode}):\n{log.read().decode(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=5) as r:
                    info = json.loads(r.read())
                if _graphql(base, "{ assetNodes { id } }")["assetNodes"]:  # the code location is loaded
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() - started > STARTUP_TIMEOUT:
                log.seek(0)
                pytest.fail(f"the webserver did not answer within {STARTUP_TIMEOUT}s:\n"
                            f"{log.read().decode(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield base, info, time.monotonic() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the webserver and the code server it started
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def test_ui_shows_the_graph_the_checks_and_the_automation(webserver):
    base, info, seconds = webserver
    assert info["dagster_version"] == "1.13.27"
    nodes = {"/".join(n["assetKey"]["path"]): n for n in _graphql(base, ASSETS)["assetNodes"]}
    sectors = load_methodology(DEFAULT_METHODOLOGY).sector_codes

    # the stages, grouped
    groups = {key: n["groupName"] for key, n in nodes.items()}
    for sector in sectors:
        assert groups[f"ingest/{sector}"] == "ingest"
    for mart in ("fct_province_ranking", "fct_domain_scores", "fct_indicator_values", "dim_admin_unit",
                 "dim_indicator", "fct_data_values"):
        assert groups[f"marts/{mart}"] == "transform"
    assert groups["publish/release"] == "publish"
    assert groups["reference/admin_units"] == "reference"
    assert "marts/fct_province_ranking" in {"/".join(d["path"]) for d in nodes["publish/release"]["dependencyKeys"]}

    # every asset says what it is; ingest assets say it in Vietnamese and English, and name their sector
    assert all(n["description"] for n in nodes.values()), [k for k, n in nodes.items() if not n["description"]]
    for sector in sectors:
        node = nodes[f"ingest/{sector}"]
        assert "Nạp số liệu ngành" in node["description"] and "Loads the" in node["description"]
        assert {"team": sector} in node["owners"]
        assert {"key": "sector", "value": sector} in node["tags"]

    # the checks (none blocking: a blocked period is a successful run), and the publication gate, an asset the
    # rank robustness and the release depend on
    checks = {(key, c["name"]): c for key, n in nodes.items()
              for c in (n["assetChecksOrError"] or {}).get("checks", [])}
    gate = checks[("marts/fct_province_ranking", "publication_gate")]
    assert not gate["blocking"] and "Cổng công bố" in gate["description"]
    assert groups["quality/publication_gate"] == "quality" and "Cổng công bố" in nodes["quality/publication_gate"]["description"]
    for after in ("publish/release", "analysis/rank_robustness"):
        assert "quality/publication_gate" in {"/".join(d["path"]) for d in nodes[after]["dependencyKeys"]}
    for sector in sectors:
        assert (f"ingest/{sector}", "rows_valid") in checks and (f"ingest/{sector}", "completeness") in checks

    # the jobs, schedules and sensors operators rely on
    repo = _graphql(base, REPOSITORY)["repositoryOrError"]
    assert repo["__typename"] == "Repository"
    assert {"period_draft", "period_official"} <= {j["name"] for j in repo["jobs"]}
    schedules = {s["name"]: s for s in repo["schedules"]}
    assert schedules["nightly_draft"]["executionTimezone"] == "Asia/Ho_Chi_Minh"
    assert "official_after_deadline" in schedules
    assert {"landing_sensor", "notify_on_success", "notify_on_failure"} <= {s["name"] for s in repo["sensors"]}
    assert seconds < 60, f"the UI took {seconds:.0f}s to start"

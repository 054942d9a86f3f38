"""dbt data tests as gate results: one result per test of dbt's run_results.json, with the severity and title
of its catalogue entry (its own, or that of its kind of generic test)."""

from __future__ import annotations

from pipelines.checks.catalogue import load_catalogue, message as catalogue_message
from pipelines.checks.core import BLOCKING, WARNING, CheckResult
from pipelines.dbt_layout import model_asset_path

ANY_DBT_TEST = "dbt.not_null_<column>"  # every dbt test has the same messages (catalogue)


def dbt_result(code: str, asset: str, passed: bool, severity: str, failures: int, message: str,
               generic: str | None = None) -> CheckResult:
    """``severity``: dbt's own (error | warn), used only for a test the catalogue does not list."""
    entry = load_catalogue().dbt_entry(code, generic)
    return CheckResult(
        code=f"dbt.{code}",
        severity=entry.severity if entry is not None else (BLOCKING if severity == "error" else WARNING),
        passed=passed, failures=failures, message=message, asset=asset,
        title_vi=entry.title_vi if entry is not None else "Kiểm thử dbt",
    )


def dbt_test_outcomes(run_results: dict, manifest: dict) -> list[CheckResult]:
    """One gate result per dbt data test, from dbt's run_results.json."""
    outcomes = []
    for r in run_results.get("results", []):
        node = manifest["nodes"].get(r["unique_id"], {})
        if node.get("resource_type") != "test":
            continue
        parents = [p for p in node.get("depends_on", {}).get("nodes", []) if p.startswith("model.")]
        model = manifest["nodes"][parents[0]] if parents else {}
        asset = "/".join(model_asset_path(model)) if model else ""
        severity = str(node.get("config", {}).get("severity", "error")).lower()
        status = r.get("status")
        failures = int(r.get("failures") or 0) if status in ("fail", "warn") else (1 if status == "error" else 0)
        message = (r.get("message") or "").splitlines()[0] if r.get("message") else ""
        generic = (node.get("test_metadata") or {}).get("name")
        entry = load_catalogue().dbt_entry(node["name"], generic)
        outcomes.append(dbt_result(
            node["name"], asset, status in ("pass", "success"), severity, failures,
            catalogue_message(entry.code if entry is not None else ANY_DBT_TEST,
                              "passed" if status == "pass" else "failed", test=node["name"], asset=asset,
                              status=status, detail=message),
            generic=generic,
        ))
    return outcomes

"""Run the Great Expectations suites kept in ``expectations/*.json``.

A suite file is a GX 1.x expectation suite plus, in ``meta.cri``, the asset it
guards (a name of ``pipelines.checks.keys.ASSETS``) and the SQL query (one ``?``
for the period) that gives its batch. Each expectation carries ``meta.id``; its
result becomes the check ``gx.<suite>.<id>``, whose severity and title are in
the check catalogue (``pipelines/checks/catalogue.yaml``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.checks.catalogue import load_catalogue, message
from pipelines.checks.core import BLOCKING, CheckResult, examples_from
from pipelines.checks.keys import ASSETS
from pipelines.settings import EXPECTATIONS_DIR

ANY_EXPECTATION = "gx.raw_data_values.value_not_null"  # every expectation has the same messages (catalogue)
ID_COLUMNS = ["sector", "source_file", "row_number", "unit_level", "province_code", "unit_code", "unit_name",
              "indicator_code", "data_element"]


@dataclass(frozen=True)
class Suite:
    name: str
    asset: str
    query: str
    document: dict

    @property
    def expectation_ids(self) -> list[str]:
        return [e["meta"]["id"] for e in self.document["expectations"]]


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[Suite]:
    suites = []
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        cri = doc.get("meta", {}).get("cri", {})
        for key in ("asset", "query"):
            if key not in cri:
                raise ValueError(f"{path}: meta.cri.{key} is required")
        for n, e in enumerate(doc["expectations"]):
            if "id" not in e.get("meta", {}):
                raise ValueError(f"{path}: expectations[{n}] needs meta.id")
        suites.append(Suite(name=doc["name"], asset=ASSETS.get(cri["asset"], cri["asset"]), query=cri["query"],
                            document=doc))
    return suites


def check_code(suite: str, expectation_id: str) -> str:
    return f"gx.{suite}.{expectation_id}"


def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    # no progress bars in people's terminals
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def run_suite(con: duckdb.DuckDBPyConnection, suite: Suite, period: str, context=None) -> list[CheckResult]:
    import great_expectations as gx

    context = context or _context()
    df = con.execute(suite.query, [period]).df()
    batch = (
        context.data_sources.add_or_update_pandas(suite.name)  # a context may validate a suite more than once
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe(suite.name)
        .get_batch(batch_parameters={"dataframe": df})
    )
    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=[dict(e) for e in suite.document["expectations"]])
    validation = batch.validate(gx_suite, result_format={"result_format": "COMPLETE"})
    results = []
    catalogue = load_catalogue()
    for res in validation.results:
        meta = res.expectation_config.meta or {}
        entry = catalogue.find(check_code(suite.name, meta["id"]))
        info = res.result or {}
        index = info.get("unexpected_index_list") or []
        rows = df.loc[[i for i in index if isinstance(i, int | float) and i in df.index]] if index else df.head(0)
        failures = int(info.get("unexpected_count") or (0 if res.success else 1))
        id_cols = [c for c in ID_COLUMNS if c in rows.columns]
        kwargs = {k: v for k, v in res.expectation_config.kwargs.items() if k != "batch_id"}
        examples = examples_from(rows[id_cols + [c for c in rows.columns if c not in id_cols]]) if len(rows) else (
            [] if res.success else [{"observed_value": info.get("observed_value"), **kwargs}])
        results.append(CheckResult(
            code=check_code(suite.name, meta["id"]),
            severity=entry.severity if entry is not None else BLOCKING,
            passed=bool(res.success),
            failures=0 if res.success else failures,
            message=_message(check_code(suite.name, meta["id"]), res.expectation_config.type, kwargs,
                             bool(res.success), failures, info.get("observed_value"), suite.name),
            asset=suite.asset,
            title_vi=entry.title_vi if entry is not None else "",
            examples=examples,
            failing_units=sorted({str(u) for u in rows.get("unit_code", pd.Series(dtype=str)).dropna()}),
        ))
    return results


def _message(code: str, kind: str, kwargs: dict, success: bool, failures: int, observed, suite: str) -> str:
    """What the expectation says and how the batch fared, in plain words (the catalogue's ``expectation``
    templates; an expectation the catalogue does not hold in the words of them all)."""
    code = code if load_catalogue().find(code) else ANY_EXPECTATION
    rule = f"{kind} {json.dumps(kwargs, ensure_ascii=False, default=str)} ({suite})"
    if success:
        return message(code, "passed", rule=rule)
    if "column" in kwargs or "column_list" in kwargs:
        return message(code, "failed_rows", n=failures, rule=rule)
    return message(code, "failed", rule=rule, observed=observed)


def run_all(con: duckdb.DuckDBPyConnection, period: str, suites: list[Suite] | None = None) -> list[CheckResult]:
    context = _context()
    return [r for suite in (suites or load_suites()) for r in run_suite(con, suite, period, context)]

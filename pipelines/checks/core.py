"""What a quality check says, and where it is kept.

Every check has a stable code (``ingest.unknown_unit``), a severity
(``blocking`` stops publication, ``warning`` is reported only), the asset it
guards, and a result: passed or not, how many failures, a message in plain
words and the first examples (naming province, commune, file and row).
Results are written to ``quality.check_results`` for each run and period.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import duckdb
import pandas as pd

BLOCKING = "blocking"
WARNING = "warning"
MAX_EXAMPLES = 20


@dataclass
class CheckResult:
    code: str
    severity: str
    passed: bool
    failures: int
    message: str
    asset: str = ""
    title_vi: str = ""
    examples: list[dict] = field(default_factory=list)
    # every unit concerned by a failure (a waiver can name one of them)
    failing_units: list[str] = field(default_factory=list)
    waived: bool = False
    waiver: dict | None = None

    @property
    def blocks(self) -> bool:
        """True when this result stops publication."""
        return self.severity == BLOCKING and not self.passed and not self.waived

    @property
    def outcome(self) -> str:
        """``passed``, ``failed`` (blocking, not waived), ``waived`` or ``warning`` (failed, does not block)."""
        if self.passed:
            return "passed"
        if self.waived:
            return "waived"
        return "failed" if self.severity == BLOCKING else "warning"

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("failing_units")
        d["outcome"] = self.outcome
        d["blocks"] = self.blocks
        return d


def plain_words(r: CheckResult) -> str:
    """One line an operator can act on: what failed (Vietnamese title and code) and where."""
    title = f"{r.title_vi} " if r.title_vi and r.title_vi != r.code else ""
    waived = " (được miễn trừ / waived)" if r.waived else ""
    return f"{title}[{r.code}]{waived}: {r.message}"


def examples_from(df: pd.DataFrame, limit: int = MAX_EXAMPLES) -> list[dict]:
    """The first rows of a failure table as JSON-friendly dicts."""
    head = df.head(limit).astype(object).where(df.head(limit).notna(), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in head.to_dict("records")]


def result_from_failures(
    code: str,
    severity: str,
    failures: pd.DataFrame,
    ok_message: str,
    fail_message: str,
    asset: str,
    title_vi: str,
    unit_column: str | None = "unit_code",
) -> CheckResult:
    """Build a result from a table with one row per failure (empty = passed)."""
    n = len(failures)
    units = sorted({str(u) for u in failures[unit_column].dropna()}) if n and unit_column in failures else []
    return CheckResult(
        code=code,
        severity=severity,
        passed=n == 0,
        failures=n,
        message=ok_message if n == 0 else fail_message.format(n=n),
        asset=asset,
        title_vi=title_vi,
        examples=examples_from(failures),
        failing_units=units,
    )


def record_results(con: duckdb.DuckDBPyConnection, run_id: str, period: str, results: list[CheckResult]) -> None:
    """Replace this run's results for the period with ``results``."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    codes = [r.code for r in results]
    if codes:
        con.execute(
            "delete from quality.check_results where run_id = ? and period = ? and check_code in "
            f"({', '.join('?' for _ in codes)})",
            [run_id, period, *codes],
        )
    rows = [
        (run_id, period, r.code, r.asset, r.severity, r.passed, r.failures, r.message,
         json.dumps({"examples": r.examples, "waived": r.waived, "waiver": r.waiver,
                     "title_vi": r.title_vi, "failing_units": r.failing_units}, ensure_ascii=False, default=str),
         now)
        for r in results
    ]
    if rows:  # one insert of a frame: a prepared insert per row costs seconds for a few hundred checks
        frame = pd.DataFrame(rows, columns=["run_id", "period", "check_code", "asset", "severity", "passed",
                                            "failures", "message", "examples", "evaluated_at"])
        con.register("_check_results", frame)
        try:
            con.execute("insert into quality.check_results by name select * from _check_results")
        finally:
            con.unregister("_check_results")


def load_results(con: duckdb.DuckDBPyConnection, run_id: str, period: str, prefix: str = "") -> list[CheckResult]:
    rows = con.execute(
        "select check_code, severity, passed, failures, message, asset, examples from quality.check_results "
        "where run_id = ? and period = ? and check_code like ? order by check_code",
        [run_id, period, prefix + "%"],
    ).fetchall()
    out = []
    for code, severity, passed, failures, message, asset, extra in rows:
        extra = json.loads(extra or "{}")
        out.append(CheckResult(
            code=code, severity=severity, passed=passed, failures=failures, message=message or "", asset=asset or "",
            title_vi=extra.get("title_vi", ""), examples=extra.get("examples", []),
            failing_units=extra.get("failing_units", []), waived=extra.get("waived", False),
            waiver=extra.get("waiver"),
        ))
    return out

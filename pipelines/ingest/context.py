"""What one parse knows: the period, the sector, the methodology's data elements and the units."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipelines.ingest.contract import APPORTION_RULES, DEFAULT_APPORTION_RULE
from pipelines.ingest.limits import IngestLimits

# The shape of a period (pipelines.partitions.PERIOD_RE; not imported so that this module stays free of Dagster).
_PERIOD_RE = re.compile(r"^\d{4}(?:H[12])?$")


@dataclass(frozen=True)
class _Context:
    period: str
    sector: str
    methodology_version: str
    sector_names: dict[str, tuple[str, str]]
    element_sector: dict[str, str]
    element_level: dict[str, str]
    element_kind: dict[str, str]
    sector_elements: tuple[str, ...]
    communes: frozenset[str]
    provinces: frozenset[str]
    unit_names: dict[str, str]
    methodology: Any = field(default=None, compare=False, repr=False)
    apportion_rule: str = DEFAULT_APPORTION_RULE
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    limits: IngestLimits = field(default_factory=IngestLimits.from_env, compare=False, repr=False)

    @classmethod
    def build(cls, period: str, sector: str, methodology: Any, units: pd.DataFrame,
              apportion_rule: str = DEFAULT_APPORTION_RULE) -> _Context:
        if not _PERIOD_RE.match(period or ""):
            raise ValueError(f"'{period}' is not a period: expected YYYY, YYYYH1 or YYYYH2")
        if apportion_rule not in APPORTION_RULES:
            raise ValueError(f"apportion_rule must be one of {APPORTION_RULES}, got {apportion_rule!r}")
        sectors = {s.code: (s.name_vi, s.name_en) for s in methodology.sectors}
        if sector not in sectors:
            raise ValueError(f"'{sector}' is not a sector of the methodology: {sorted(sectors)}")
        sectors.setdefault("reference", ("Danh mục (tự tính)", "reference (computed)"))
        elements = methodology.data_elements
        level = units["unit_level"].astype(str)
        return cls(
            period=period,
            sector=sector,
            methodology_version=str(methodology.version),
            sector_names=sectors,
            element_sector={e.code: e.sector for e in elements},
            element_level={e.code: e.level for e in elements},
            element_kind={e.code: e.kind for e in elements},
            sector_elements=tuple(e.code for e in elements if e.sector == sector and e.kind != "unit_count"),
            communes=frozenset(units.loc[level == "commune", "unit_code"].astype(str)),
            provinces=frozenset(units.loc[level == "province", "unit_code"].astype(str)),
            unit_names=dict(zip(units["unit_code"].astype(str), units["unit_name"].astype(str), strict=True)),
            methodology=methodology,
            apportion_rule=apportion_rule,
        )

    @property
    def flag_elements(self) -> frozenset[str]:
        return frozenset(e for e, k in self.element_kind.items() if k == "yes_no")

    def legacy_codes(self) -> frozenset[str]:
        """Codes of the provinces and communes before 1 July 2025 (read once per parse, when needed)."""
        if "legacy_codes" not in self.cache:
            from pipelines.units.legacy import legacy_units

            lu = legacy_units()
            self.cache["legacy_codes"] = frozenset(lu.loc[lu["unit_level"] != "district", "unit_code"])
        return self.cache["legacy_codes"]

    def workbook_mapping(self) -> Any:
        """The sector's template mapping (read once per parse)."""
        if "mapping" not in self.cache:
            from pipelines.ingest.mapping import load_mapping

            self.cache["mapping"] = load_mapping(self.sector, self.methodology)
        return self.cache["mapping"]

    def sector_vi(self, code: str) -> str:
        return f"{self.sector_names.get(code, (code, code))[0]} ({code})"

    def sector_en(self, code: str) -> str:
        return f"{self.sector_names.get(code, (code, code))[1]} ({code})"

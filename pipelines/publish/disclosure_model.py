"""The disclosure model (``methodology/disclosure.yaml``): what releases protect and how, as data.

The model names the published fields that depend on a sensitive count and how
a reader can use each of them (see the file's header). The sensitive data
elements themselves come from the methodology (``sensitive: true``) and the
suppression range from its ``disclosure`` section, so nothing is listed twice.

:func:`load_disclosure_model` refuses a file that does not declare every
column of the commune tables, names an unknown table, column, reader or
treatment, or sets an impossible minimum, with a message naming the entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.publish import contract
from pipelines.publish.disclosure import DisclosureRule
from pipelines.yamlfile import safe_load

MODEL_FILE = "disclosure.yaml"
READERS = ("none", "count", "rate", "score", "province_sum", "points_band", "pass", "total_points", "recognition",
           "reason")
TREATMENTS = ("none", "suppress", "coarsen", "public")
DECLARED_TABLES = ("indicator_values", "commune_assessment", "commune_ranking")


class DisclosureModelError(ValueError):
    """The disclosure model file is not valid; the message names the entry and the field."""


@dataclass(frozen=True)
class Field:
    table: str
    column: str
    reader: str
    treatment: str
    province: str | None = None  # what the province row of the same column gives a reader


@dataclass(frozen=True)
class DisclosureModel:
    version: str
    path: Path | None
    sha256: str | None
    rule: DisclosureRule
    min_values: int
    max_rounds: int
    earlier_versions: bool
    sensitive_elements: tuple[str, ...]
    fields: tuple[Field, ...]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    reader_knows_primary: bool = False  # the blocking audit's reader also knows how many hidden cells are primary

    def field(self, table: str, column: str) -> Field:
        return next(f for f in self.fields if f.table == table and f.column == column)

    def by_treatment(self, treatment: str) -> list[str]:
        return [f"{f.table}.{f.column}" for f in self.fields if f.treatment == treatment and f.reader != "none"]

    def describe(self) -> dict[str, Any]:
        """The model as recorded in the release manifest."""
        return {
            "version": self.version, "file": self.path.name if self.path else None, "sha256": self.sha256,
            "sensitive_elements": list(self.sensitive_elements),
            "suppress_range": [self.rule.suppress_min, self.rule.suppress_max],
            "min_values": self.min_values, "earlier_versions": self.earlier_versions,
            "reader_knows_primary": self.reader_knows_primary,
            "suppressed_fields": self.by_treatment("suppress"), "coarsened_fields": self.by_treatment("coarsen"),
            "public_fields": self.by_treatment("public"),
        }


def sensitive_elements(methodology) -> tuple[str, ...]:
    """The data elements marked ``sensitive: true`` in the methodology, in file order."""
    return tuple(e.code for e in methodology.data_elements if e.sensitive)


def model_path(methodology) -> Path:
    """``disclosure.yaml`` beside the methodology file; the project's own when a variant sits elsewhere."""
    from pipelines.settings import DEFAULT_METHODOLOGY

    beside = Path(methodology.path).parent / MODEL_FILE
    return beside if beside.is_file() else Path(DEFAULT_METHODOLOGY).parent / MODEL_FILE


def load_disclosure_model(methodology, path: Path | str | None = None) -> DisclosureModel:
    """Read and check the disclosure model beside the methodology file (or ``path``)."""
    path = Path(path) if path is not None else model_path(methodology)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DisclosureModelError(f"{path}: the disclosure model file is missing") from None
    doc = safe_load(raw.decode("utf-8")) or {}
    return parse_disclosure_model(doc, methodology, path, hashlib.sha256(raw).hexdigest())


def parse_disclosure_model(doc: dict[str, Any], methodology, path: Path | None = None,
                           sha256: str | None = None) -> DisclosureModel:
    where = path.name if path else MODEL_FILE
    if not isinstance(doc, dict) or "version" not in doc:
        raise DisclosureModelError(f"{where}: needs a 'version'")
    protection = doc.get("protection") or {}
    min_values = protection.get("min_values", 2)
    if not isinstance(min_values, int) or min_values < 2:
        raise DisclosureModelError(f"{where}: protection.min_values must be a whole number of at least 2, "
                                   f"got {min_values!r}")
    max_rounds = protection.get("max_rounds", 200)
    if not isinstance(max_rounds, int) or max_rounds < 1:
        raise DisclosureModelError(f"{where}: protection.max_rounds must be a whole number of at least 1")
    fields = []
    declared = doc.get("fields") or {}
    for table, columns in declared.items():
        if table not in DECLARED_TABLES:
            raise DisclosureModelError(f"{where}: fields.{table}: not a table with commune figures "
                                       f"(expected one of {', '.join(DECLARED_TABLES)})")
        known = [c.name for c in contract.table(table).columns]
        for column, spec in (columns or {}).items():
            at = f"{where}: fields.{table}.{column}"
            if column not in known:
                raise DisclosureModelError(f"{at}: the release contract has no such column")
            spec = spec or {}
            for key, allowed in (("reader", READERS), ("treatment", TREATMENTS)):
                if spec.get(key) not in allowed:
                    raise DisclosureModelError(f"{at}.{key}: expected one of {', '.join(allowed)}, "
                                               f"got {spec.get(key)!r}")
            if spec.get("province") not in (None, *READERS):
                raise DisclosureModelError(f"{at}.province: expected one of {', '.join(READERS)}")
            if spec["reader"] != "none" and spec["treatment"] == "none":
                raise DisclosureModelError(f"{at}: depends on a sensitive count but has treatment none")
            fields.append(Field(table, column, spec["reader"], spec["treatment"], spec.get("province")))
    for table in DECLARED_TABLES:
        have = {f.column for f in fields if f.table == table}
        missing = [c.name for c in contract.table(table).columns if c.name not in have]
        if missing:
            raise DisclosureModelError(f"{where}: fields.{table}.{missing[0]} is published but not declared: "
                                       f"say what it depends on (reader) and how it is protected (treatment)")
    return DisclosureModel(
        version=str(doc["version"]), path=path, sha256=sha256, rule=DisclosureRule.from_methodology(methodology),
        min_values=min_values, max_rounds=max_rounds, earlier_versions=bool(protection.get("earlier_versions", True)),
        sensitive_elements=sensitive_elements(methodology), fields=tuple(fields), files=dict(doc.get("files") or {}),
        reader_knows_primary=bool(protection.get("reader_knows_primary", False)))

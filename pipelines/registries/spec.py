"""The record-level registries the methodology declares (``methodology/registries.yaml``).

A registry is an extract a sector sends child by child (births, insurance cards, doses) instead of totals.
Its declaration says which landing files it reads, its columns (type, required, allowed values, order of
dates), its key, the identifier columns pseudonymised at ingest, and the data elements it produces, each
by a rule (``RULES``). ``load_registries`` reads and validates the file against the methodology: every
problem is one sentence naming the registry and the field.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.settings import METHODOLOGY_DIR
from pipelines.yamlfile import safe_load

DEFAULT_REGISTRIES = METHODOLOGY_DIR / "registries.yaml"
REGISTRIES_ENV = "CRI_REGISTRIES"
TYPES = ("varchar", "date", "integer")
# rule -> the fields it needs besides data_element
RULES: dict[str, tuple[str, ...]] = {
    "count": (),
    "within_days": ("from", "to", "days"),
    "valid_on": ("from", "to", "birth", "max_age_years"),
    "all_before_age": ("key", "code", "date", "birth", "age_years", "codes"),
}
# rules whose date fields must name date columns
DATE_FIELDS = ("from", "to", "birth", "date")
# fields naming any column of the registry: `key` (the child counted once), `code` (e.g. the antigen)
COLUMN_FIELDS = ("key", "code")


class RegistryError(ValueError):
    """The registries file is not valid; the message says where and why."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    identifier: bool = False
    values: tuple[str, ...] = ()
    not_before: str | None = None
    future: bool = False          # a date that may be after the day of loading (a card's end of validity)
    name_vi: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class Produce:
    data_element: str
    rule: str
    params: tuple[tuple[str, object], ...] = ()

    def param(self, name: str, default: object = None) -> object:
        return dict(self.params).get(name, default)


@dataclass(frozen=True)
class Registry:
    code: str
    name_vi: str
    name_en: str
    sector: str
    files: str
    key: tuple[str, ...]
    period_date: str | None
    commune: str
    columns: tuple[Column, ...]
    produces: tuple[Produce, ...]
    loaded: bool = True
    period_until: str | None = None   # with period_date: its span [period_date, period_until] meets the period
    period_years: int = 0             # the record belongs to the period of period_date plus this many years

    @property
    def table(self) -> str:
        """The warehouse table of the accepted records: ``raw.registry_<code>``."""
        return f"raw.registry_{self.code}"

    def column(self, name: str) -> Column:
        return {c.name: c for c in self.columns}[name]

    @property
    def identifiers(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.identifier)

    @property
    def elements(self) -> tuple[str, ...]:
        return tuple(p.data_element for p in self.produces)


@dataclass(frozen=True)
class Registries:
    version: str
    min_date: str
    registries: tuple[Registry, ...]
    path: Path | None = None

    @property
    def loaded(self) -> tuple[Registry, ...]:
        """The registries the pipeline loads (``loaded: false`` ones are declared only)."""
        return tuple(r for r in self.registries if r.loaded)

    def get(self, code: str) -> Registry:
        for r in self.registries:
            if r.code == code:
                return r
        raise KeyError(code)


def _column(doc: dict, where: str) -> Column:
    if not isinstance(doc, dict) or not doc.get("name"):
        raise RegistryError(f"{where}: each column needs a name")
    where = f"{where}, column {doc['name']}"
    kind = str(doc.get("type", "varchar")).lower()
    if kind not in TYPES:
        raise RegistryError(f"{where}: type must be one of {', '.join(TYPES)}, got {kind!r}")
    return Column(name=str(doc["name"]), type=kind, required=bool(doc.get("required", False)),
                  identifier=bool(doc.get("identifier", False)),
                  values=tuple(str(v) for v in doc.get("values") or ()),
                  not_before=doc.get("not_before"), future=bool(doc.get("future", False)),
                  name_vi=str(doc.get("name_vi", "")),
                  name_en=str(doc.get("name_en", "")))


def _produce(doc: dict, where: str, columns: dict[str, Column], elements: dict | None) -> Produce:
    if not isinstance(doc, dict) or not doc.get("data_element"):
        raise RegistryError(f"{where}: each entry of produces needs a data_element")
    code, rule = str(doc["data_element"]), str(doc.get("rule", ""))
    where = f"{where}, data element {code}"
    if rule not in RULES:
        raise RegistryError(f"{where}: rule must be one of {', '.join(RULES)}, got {rule!r}")
    missing = [f for f in RULES[rule] if doc.get(f) is None]
    if missing:
        raise RegistryError(f"{where}: rule {rule} needs {', '.join(missing)}")
    for f in DATE_FIELDS:
        if f in RULES[rule] and (doc[f] not in columns or columns[doc[f]].type != "date"):
            raise RegistryError(f"{where}: {f} must name a date column of the registry, got {doc[f]!r}")
    for f in COLUMN_FIELDS:
        if doc.get(f) is not None and doc[f] not in columns:
            raise RegistryError(f"{where}: {f} must name a column of the registry, got {doc[f]!r}")
    if len(doc.get("codes") or ()) > 63:  # a child's codes are counted as the bits of a 64-bit mask
        raise RegistryError(f"{where}: at most 63 codes")
    repeated = sorted(c for c, n in Counter(map(str, doc.get("codes") or ())).items() if n > 1)
    if repeated:  # the rule asks for every code: a code listed twice could never be met
        raise RegistryError(f"{where}: codes {repeated} listed more than once")
    if doc.get("codes") is not None and doc.get("code") in columns and columns[doc["code"]].values:
        unknown = sorted(set(map(str, doc["codes"])) - set(columns[doc["code"]].values))
        if unknown:
            raise RegistryError(f"{where}: codes {unknown} are not values of column {doc['code']}")
    if elements is not None:
        element = elements.get(code)
        if element is None:
            raise RegistryError(f"{where}: not a data element of the methodology file")
        if element.level != "commune" or element.kind != "count":
            raise RegistryError(f"{where}: a registry produces commune-level counts, this is "
                                f"{element.level}-level {element.kind}")
    params = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in doc.items()
                   if k not in ("data_element", "rule"))
    return Produce(data_element=code, rule=rule, params=params)


def _registry(doc: dict, elements: dict | None) -> Registry:
    if not isinstance(doc, dict) or not doc.get("code"):
        raise RegistryError("each registry needs a code")
    where = f"registry {doc['code']}"
    columns = [_column(c, where) for c in doc.get("columns") or []]
    by_name = {c.name: c for c in columns}
    if len(by_name) != len(columns) or not columns:
        raise RegistryError(f"{where}: columns must be given, each name once")
    for field_name in ("commune", "period_date", "period_until"):
        value = doc.get(field_name)
        if value is not None and value not in by_name:
            raise RegistryError(f"{where}: {field_name} {value!r} is not one of its columns")
    if not doc.get("commune"):
        raise RegistryError(f"{where}: commune (the column with the commune code) is required")
    for field_name in ("period_date", "period_until"):
        if doc.get(field_name) and by_name[doc[field_name]].type != "date":
            raise RegistryError(f"{where}: {field_name} must name a date column")
    if (doc.get("period_until") or doc.get("period_years")) and not doc.get("period_date"):
        raise RegistryError(f"{where}: period_until and period_years need period_date")
    years = doc.get("period_years") or 0
    if not isinstance(years, int) or isinstance(years, bool) or years < 0:
        raise RegistryError(f"{where}: period_years must be a whole number of years, 0 or more")
    key = tuple(doc.get("key") or ())
    if not key or any(k not in by_name for k in key):
        raise RegistryError(f"{where}: key must list columns of the registry, got {list(key)}")
    for c in columns:
        if c.not_before is not None and (c.not_before not in by_name or c.type != "date"
                                         or by_name[c.not_before].type != "date"):
            raise RegistryError(f"{where}, column {c.name}: not_before must name another date column")
    produces = [_produce(p, where, by_name, elements) for p in doc.get("produces") or []]
    if not produces:
        raise RegistryError(f"{where}: produces must name at least one data element")
    return Registry(code=str(doc["code"]), name_vi=str(doc.get("name_vi", "")), name_en=str(doc.get("name_en", "")),
                    sector=str(doc.get("sector", "")), files=str(doc.get("files") or f"{doc['code']}*"),
                    key=key, period_date=doc.get("period_date"), commune=str(doc["commune"]),
                    columns=tuple(columns), produces=tuple(produces), loaded=bool(doc.get("loaded", True)),
                    period_until=doc.get("period_until"), period_years=int(doc.get("period_years") or 0))


def parse_registries(doc: dict, path: Path | None = None, methodology=None) -> Registries:
    """Validate a parsed registries document (against the methodology's data elements when given)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("registries"), list):
        raise RegistryError(f"{path or 'registries'}: expected a mapping with a list 'registries'")
    elements = methodology.elements_by_code if methodology is not None else None
    try:
        registries = tuple(_registry(r, elements) for r in doc["registries"])
    except RegistryError as exc:
        raise RegistryError(f"{path or 'registries'}: {exc}") from None
    codes = [r.code for r in registries]
    produced = [e for r in registries for e in r.elements]
    if len(set(codes)) != len(codes) or len(set(produced)) != len(produced):
        raise RegistryError(f"{path or 'registries'}: each registry code and each produced data element once")
    if methodology is not None:
        sectors = set(methodology.sector_codes)
        for r in registries:
            if r.sector not in sectors:
                raise RegistryError(f"{path}: registry {r.code}: sector {r.sector!r} is not a sector of the methodology")
    return Registries(version=str(doc.get("version", "")), min_date=str(doc.get("min_date", "1990-01-01")),
                      registries=registries, path=path)


def registries_path() -> Path:
    return Path(os.environ.get(REGISTRIES_ENV) or DEFAULT_REGISTRIES).expanduser().resolve()


def registry_files(folder: Path, sector: str) -> set[Path]:
    """The files of a sector's landing folder that a loaded registry reads (not aggregate files)."""
    try:
        registries = load_registries()
    except RegistryError:
        return set()
    return {p for r in registries.loaded if r.sector == sector for p in Path(folder).glob(r.files)
            if p.is_file() and not p.is_symlink() and p.suffix.lower() in (".parquet", ".csv")}


def load_registries(path: str | Path | None = None, methodology=None) -> Registries:
    """Read the registries file (default: ``CRI_REGISTRIES``, else methodology/registries.yaml)."""
    path = Path(path).resolve() if path is not None else registries_path()
    try:
        doc = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: not a readable UTF-8 YAML file: {exc}") from exc
    return parse_registries(doc, path, methodology)

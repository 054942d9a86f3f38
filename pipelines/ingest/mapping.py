"""Template mappings of agency workbooks (``methodology/templates/<sector>.yaml``): which column title is which
data element or unit column, compared without regard to case, spacing, punctuation or diacritics."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.settings import METHODOLOGY_DIR
from pipelines.units.names import strip_diacritics
from pipelines.yamlfile import safe_load

TEMPLATES_DIR = METHODOLOGY_DIR / "templates"
COMMON_MAPPING = "_common.yaml"  # what every sector's mapping shares (unit columns, totals rows, breakdowns)
UNIT_ROLES = ("unit_code", "unit_name", "province_code", "province", "district_code", "district",
              "unit_scheme", "comment", "ignore")
DEFAULT_TOTAL_LABELS = ("Tổng", "Tổng cộng", "Cộng", "Tổng số", "Toàn tỉnh", "Toàn thành phố", "Toàn quốc",
                        "Cả nước", "Tổng toàn tỉnh", "Cộng toàn tỉnh", "Total")
DEFAULT_TOTAL_PREFIXES = ("tongcong", "toantinh", "toanthanhpho", "tongtoan", "congtoan")
ABBREVIATIONS = {
    "te": "tre em", "bhyt": "bao hiem y te", "thcs": "trung hoc co so", "hcdb": "hoan canh dac biet",
    "bvte": "bao ve tre em", "tntt": "tai nan thuong tich", "sdd": "suy dinh duong", "ctv": "cong tac vien",
    "dvhc": "don vi hanh chinh", "vhtt": "van hoa the thao", "dksh": "dang ky khai sinh", "tp": "thanh pho",
}
HARMLESS_SUFFIXES = {"nguoi", "tre", "treem", "em", "chau", "vu", "thon", "xa", "so", "soluong", "luot", "hocsinh",
                     "hs", "don", "donvi"}


class MappingError(ValueError):
    """A template mapping file is not valid; the message says where."""


# -- labels --------------------------------------------------------------------


def _words(text: Any) -> list[str]:
    if text is None:
        return []
    return re.findall(r"[a-z0-9]+", strip_diacritics(str(text)).lower())


def label_key(text: Any) -> str:
    """Comparison key of a column title: no case, spacing, punctuation or
    diacritics; abbreviations expanded; a harmless trailing note in brackets dropped."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFC", str(text)).strip()
    m = re.search(r"\(([^()]*)\)\s*$", s)
    if m:
        inner = _words(m.group(1))
        joined = "".join(inner)
        yes_no = ("co" in inner and "khong" in inner)
        if joined in HARMLESS_SUFFIXES or yes_no or re.fullmatch(r"[0-9]+|[a-z]", joined or "-"):
            s = s[: m.start()].strip()
    out: list[str] = []
    for w in _words(s):
        out.extend(ABBREVIATIONS.get(w, w).split())
    return "".join(out)


def _plain_key(text: Any) -> str:
    return "".join(_words(text))


# -- the template mapping --------------------------------------------------------


@dataclass(frozen=True)
class ElementSpec:
    code: str
    label: str  # the title written in templates
    level: str
    kind: str
    name_vi: str
    variants: tuple[tuple[str, float], ...]  # (title, factor to đồng / unit)


@dataclass(frozen=True)
class Target:
    role: str  # 'element' or one of UNIT_ROLES
    code: str | None = None
    scale: float = 1.0


@dataclass
class SectorMapping:
    sector: str
    elements: dict[str, ElementSpec]
    unit_labels: dict[str, tuple[str, ...]]
    total_labels: tuple[str, ...]
    disaggregations: dict[str, tuple[str, ...]]
    total_child_labels: tuple[str, ...]
    meta_labels: dict[str, tuple[str, ...]]
    min_header_matches: int = 2
    source: Path | None = None
    _keys: dict[str, Target] = field(default_factory=dict, repr=False)
    _disagg_keys: dict[str, str] = field(default_factory=dict, repr=False)
    _total_keys: set[str] = field(default_factory=set, repr=False)
    _total_child_keys: set[str] = field(default_factory=set, repr=False)
    _meta_keys: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        where = str(self.source or self.sector)
        owner: dict[str, str] = {}

        def add(label: str, target: Target, what: str) -> None:
            k = label_key(label)
            if not k:
                raise MappingError(f"{where}: empty label for {what}")
            if k in self._keys and self._keys[k] != target:
                raise MappingError(f"{where}: label '{label}' ({what}) is also a label of {owner[k]}")
            self._keys[k] = target
            owner[k] = what

        for e in self.elements.values():
            add(e.code, Target("element", e.code), e.code)
            for text, scale in e.variants:
                add(text, Target("element", e.code, scale), e.code)
        for role, labels in self.unit_labels.items():
            if role not in UNIT_ROLES:
                raise MappingError(f"{where}: unknown unit column role '{role}' (one of {UNIT_ROLES})")
            for text in labels:
                add(text, Target(role), role)
        for code, labels in self.disaggregations.items():
            for text in labels:
                self._disagg_keys[label_key(text)] = code
        self._total_keys = {_plain_key(t) for t in self.total_labels}
        self._total_child_keys = {label_key(t) for t in self.total_child_labels}
        for role, labels in self.meta_labels.items():
            for text in labels:
                self._meta_keys[label_key(text)] = role

    def target(self, label: Any) -> Target | None:
        return self._keys.get(label_key(label))

    def disaggregation(self, label: Any) -> str | None:
        return self._disagg_keys.get(label_key(label))

    def is_total_child(self, label: Any) -> bool:
        return label_key(label) in self._total_child_keys

    def is_total_label(self, text: Any) -> bool:
        k = _plain_key(text)
        return bool(k) and (k in self._total_keys or k.startswith(DEFAULT_TOTAL_PREFIXES))

    def meta_role(self, text: Any) -> str | None:
        k = label_key(str(text).split(":")[0]) if text is not None else ""
        return self._meta_keys.get(k)

    def suggest(self, label: Any, n: int = 3) -> list[str]:
        pool = {label_key(e.label): e.label for e in self.elements.values()}
        for e in self.elements.values():
            for text, _ in e.variants:
                pool.setdefault(label_key(text), text)
        hits = difflib.get_close_matches(label_key(label), list(pool), n=n, cutoff=0.6)
        return [pool[h] for h in hits]

    def element_columns(self, level: str | None = None) -> list[ElementSpec]:
        return [e for e in self.elements.values() if level is None or e.level == level]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def load_mapping(sector: str, methodology: Any = None, directory: str | Path | None = None) -> SectorMapping:
    """Read ``<directory>/<sector>.yaml`` (default ``methodology/templates``) over the shared
    ``_common.yaml`` (a key of the sector's file replaces the shared one) and check it against the methodology: every element it names must be a data
    element of the sector; elements it does not name get their methodology
    name as title, so a new element is never silently unreadable."""
    if methodology is None:
        from pipelines.methodology import load_methodology

        methodology = load_methodology()
    path = Path(directory or TEMPLATES_DIR) / f"{sector}.yaml"
    if sector not in methodology.sector_codes:
        raise MappingError(f"unknown sector '{sector}' (one of {', '.join(methodology.sector_codes)})")
    if not path.exists():
        raise MappingError(f"{path}: no template mapping for sector '{sector}'")
    common = Path(directory or TEMPLATES_DIR) / COMMON_MAPPING
    if not common.exists():
        common = TEMPLATES_DIR / COMMON_MAPPING
    doc = {**(safe_load(common.read_text(encoding="utf-8")) or {}),
           **(safe_load(path.read_text(encoding="utf-8")) or {})}
    if doc.get("sector", sector) != sector:
        raise MappingError(f"{path}: declares sector '{doc.get('sector')}', expected '{sector}'")
    by_code = {e.code: e for e in methodology.elements_of_sector(sector) if e.kind != "unit_count"}
    elements: dict[str, ElementSpec] = {}
    for code, entry in (doc.get("columns") or {}).items():
        if code not in by_code:
            raise MappingError(f"{path}: columns.{code} is not a data element of sector '{sector}'")
        entry = entry or {}
        de = by_code[code]
        label = unicodedata.normalize("NFC", str(entry.get("label") or de.name_vi))
        variants: list[tuple[str, float]] = [(label, float(entry.get("scale", 1)))]
        if label_key(de.name_vi) != label_key(label):
            variants.append((de.name_vi, 1.0))
        for v in _as_list(entry.get("variants")):
            if isinstance(v, dict):
                if "label" not in v:
                    raise MappingError(f"{path}: columns.{code}.variants: an entry needs 'label'")
                variants.append((unicodedata.normalize("NFC", str(v["label"])), float(v.get("scale", 1))))
            else:
                variants.append((unicodedata.normalize("NFC", str(v)), 1.0))
        elements[code] = ElementSpec(code, label, de.level, de.kind, de.name_vi, tuple(variants))
    for code, de in by_code.items():
        if code not in elements:
            elements[code] = ElementSpec(code, de.name_vi, de.level, de.kind, de.name_vi, ((de.name_vi, 1.0),))
    units = {role: tuple(unicodedata.normalize("NFC", str(x)) for x in _as_list(v))
             for role, v in (doc.get("unit_columns") or {}).items()}
    meta = {role: tuple(_as_list(v)) for role, v in (doc.get("particulars") or {}).items()}
    meta.setdefault("unit_scheme", ("unit_scheme", "Hệ thống đơn vị"))
    meta.setdefault("period", ("period", "Kỳ báo cáo"))
    return SectorMapping(
        sector=sector, elements=elements, unit_labels=units,
        total_labels=tuple(_as_list(doc.get("total_labels"))) or DEFAULT_TOTAL_LABELS,
        disaggregations={k: tuple(_as_list(v)) for k, v in (doc.get("disaggregations") or {}).items()},
        total_child_labels=tuple(_as_list(doc.get("total_child_labels"))) or ("Tổng số", "Tổng", "Chung", "Cộng"),
        meta_labels=meta, min_header_matches=int(doc.get("min_header_matches", 2)), source=path,
    )

"""Match unit names, as agencies write them, to official unit codes.

Names arrive in many forms: "TP. Hồ Chí Minh", "Thành phố Hồ Chí Minh",
"Ho Chi Minh", "HCM", "Thừa Thiên Huế", with or without diacritics, in
composed or decomposed Unicode, with old-style tone placement ("Hoà") or the
new one ("Hòa"). Codes are the key; a name is accepted only when it points at
exactly one unit after normalisation. Anything else is rejected with the
closest suggestions, never guessed.

Normalisation, in order:

1. Unicode NFC, lower case; "Ð" (eth) read as "Đ"; punctuation and runs of
   spaces become one space; numbers lose leading zeros ("Phường 01" = "Phường 1").
2. The unit-type prefix is read and set aside (Tỉnh, Thành phố, TP., Quận,
   Huyện, Thị xã, TX., Xã, Phường, P., Thị trấn, TT., Đặc khu; English
   "... City", "... Province" when the name has no diacritics). A prefix
   that is given must agree with the unit's type (communes and districts;
   province names are unique without it).
3. Two comparison keys are made from the rest: with diacritics, where the tone
   mark is compared per syllable wherever it was placed (so "Hoà" = "Hòa",
   "Thuỷ" = "Thủy"), and without any diacritics. Spaces are ignored in both
   ("Hanoi" = "Hà Nội").
4. Known aliases: HCM, TP.HCM, TPHCM, Sài Gòn -> Hồ Chí Minh; Thừa Thiên Huế,
   TT Huế -> Huế; HN -> Hà Nội; BRVT -> Bà Rịa - Vũng Tàu (legacy); and, in the
   legacy scheme, the former names the vietnamadminunits package records for
   units merged before 2025.

Lookup, per level and scheme, within the province (and for the legacy scheme
the district) when one is given:

- a code that exists -> status ``code``;
- the key with diacritics names one unit -> ``exact`` (method ``name``). Skipped
  when the query has no diacritics at all: "Van Lang" must not pick "Văn Lang"
  over "Vân Lang";
- otherwise the key without diacritics names one unit -> ``exact``
  (method ``name_without_diacritics``), or an alias does -> ``exact`` (``alias``);
- more than one unit at the first key that finds any -> ``ambiguous``;
- none -> ``unmatched``. Both carry up to five suggestions, closest first
  (RapidFuzz's ratio on the keys without diacritics); for a unit from before 1 July 2025 written
  in a 2025 file, the new units it became part of come first.

The 2025 units come from ``pipelines.reference.units.admin_units()``
(vietnam-provinces); the legacy units (63 provinces, 696 districts, 10,035
communes) from ``pipelines.units.legacy.legacy_units()``
(vietnamadminunits' data files, read offline).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pipelines.units.legacy import legacy_aliases, legacy_units

LEVELS = ("province", "district", "commune")
SCHEMES = ("2025", "legacy")
STATUSES = ("code", "exact", "ambiguous", "unmatched")
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}

# Combining tone marks (grave, acute, tilde, hook above, dot below) and the
# letter that stands for each in a key (Telex, upper case so it cannot be
# mistaken for a letter of the name).
_TONES = {"\u0300": "F", "\u0301": "S", "\u0303": "X", "\u0309": "R", "\u0323": "J"}

# Unit-type prefixes (token sequences, lower case, with diacritics) -> canonical type.
_PREFIXES: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "province": [
        (("thành", "phố", "trực", "thuộc", "trung", "ương"), "thành phố"),
        (("thành", "phố"), "thành phố"),
        (("tỉnh",), "tỉnh"),
        (("tp",), "thành phố"),
        (("t", "p"), "thành phố"),
    ],
    "district": [
        (("thành", "phố"), "thành phố"),
        (("thị", "xã"), "thị xã"),
        (("quận",), "quận"),
        (("huyện",), "huyện"),
        (("tp",), "thành phố"),
        (("tx",), "thị xã"),
        (("q",), "quận"),
        (("h",), "huyện"),
    ],
    "commune": [
        (("thị", "trấn"), "thị trấn"),
        (("đặc", "khu"), "đặc khu"),
        (("xã",), "xã"),
        (("phường",), "phường"),
        (("tt",), "thị trấn"),
        (("p",), "phường"),
        # the five island districts without communes are commune-level units
        # in the legacy commune index
        (("huyện",), "huyện"),
    ],
}
_ENGLISH_SUFFIXES = {
    "province": ("city", "province", "municipality"),
    "district": ("district", "town", "city"),
    "commune": ("commune", "ward", "township", "special zone"),
}
# division types as the packages write them -> canonical type
_TYPE_OF_DIVISION = {
    "thành phố trung ương": "thành phố",
    "thành phố": "thành phố",
    "tỉnh": "tỉnh",
    "quận": "quận",
    "huyện": "huyện",
    "thị xã": "thị xã",
    "xã": "xã",
    "phường": "phường",
    "thị trấn": "thị trấn",
    "đặc khu": "đặc khu",
}
# Aliases on the key without diacritics: alias -> the unit's key. Province level.
PROVINCE_ALIASES: dict[str, str] = {
    "hcm": "hochiminh",
    "tphcm": "hochiminh",
    "hochiminhcity": "hochiminh",
    "saigon": "hochiminh",
    "thuathienhue": "hue",
    "tthue": "hue",
    "hn": "hanoi",
    "brvt": "bariavungtau",
}


class UnitLookupError(ValueError):
    """Bad arguments to a lookup (unknown level or scheme)."""


@dataclass(frozen=True)
class UnitCandidate:
    code: str
    name: str
    level: str
    province_code: str
    province_name: str
    district_code: str | None = None
    district_name: str | None = None
    division_type: str = ""

    @property
    def label(self) -> str:
        where = ", ".join(x for x in (self.district_name, self.province_name) if x and x != self.name)
        return f"{self.name} ({self.code}{', ' + where if where else ''})"


@dataclass(frozen=True)
class UnitMatch:
    query: str
    level: str
    scheme: str
    status: str  # code | exact | ambiguous | unmatched
    unit_code: str | None = None
    unit_name: str | None = None
    province_code: str | None = None
    method: str = ""  # code | name | name_without_diacritics | alias | ''
    candidates: tuple[UnitCandidate, ...] = ()
    suggestions: tuple[UnitCandidate, ...] = ()
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def accepted(self) -> bool:
        return self.status in ("code", "exact")

    @property
    def reason_vi(self) -> str:
        lv = {"province": "tỉnh", "district": "huyện", "commune": "xã"}[self.level]
        sugg = "; ".join(c.label for c in self.suggestions)
        if self.status == "code":
            return f"Mã {lv} {self.unit_code} hợp lệ"
        if self.status == "exact":
            return f"Tên '{self.query}' khớp đúng một đơn vị: {self.unit_name} ({self.unit_code})"
        if self.status == "ambiguous":
            return (f"Tên '{self.query}' khớp với nhiều đơn vị cấp {lv}, không thể chọn: "
                    f"{'; '.join(c.label for c in self.candidates)}. Hãy ghi mã đơn vị")
        text = f"Không tìm thấy đơn vị cấp {lv} '{self.query}'"
        if self.note:
            text += f" ({self.details.get('note_vi', self.note)})"
        return text + (f". Gợi ý: {sugg}" if sugg else "")

    @property
    def reason_en(self) -> str:
        sugg = "; ".join(c.label for c in self.suggestions)
        if self.status == "code":
            return f"{self.level} code {self.unit_code} exists"
        if self.status == "exact":
            return f"name '{self.query}' matches exactly one unit: {self.unit_name} ({self.unit_code})"
        if self.status == "ambiguous":
            return (f"name '{self.query}' matches several {self.level} units and none is chosen: "
                    f"{'; '.join(c.label for c in self.candidates)}. Give the unit code")
        text = f"no {self.level} unit named or coded '{self.query}'"
        if self.note:
            text += f" ({self.note})"
        return text + (f". Suggestions: {sugg}" if sugg else "")

    @property
    def reason(self) -> str:
        return f"{self.reason_vi} / {self.reason_en}"


# -- normalisation -------------------------------------------------------------


def _nfc_lower(text: str) -> str:
    text = unicodedata.normalize("NFC", str(text)).replace("Ð", "Đ").replace("ð", "đ")
    return text.lower()


def _tokens(text: str) -> list[str]:
    """Lower-case NFC words; punctuation splits words; numbers lose leading zeros."""
    words = re.findall(r"\w+", _nfc_lower(text).replace("_", " "))
    return [str(int(w)) if w.isdigit() else w for w in words]


def strip_diacritics(text: str) -> str:
    """Vietnamese text without its marks: 'Đồng Tháp' -> 'Dong Thap' (case kept)."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _has_diacritics(text: str) -> bool:
    return strip_diacritics(_nfc_lower(text)) != _nfc_lower(text)


def _tone_word(word: str) -> str:
    """A word with its tone mark taken off and written as a trailing letter."""
    tone = ""
    kept = []
    for ch in unicodedata.normalize("NFD", word):
        if ch in _TONES:
            tone = _TONES[ch]
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)) + tone


def _key_diacritics(tokens: list[str]) -> str:
    return "".join(_tone_word(t) for t in tokens)


def _key_ascii(tokens: list[str]) -> str:
    return "".join(strip_diacritics(t) for t in tokens)


@dataclass(frozen=True)
class _Parsed:
    unit_type: str | None
    tokens: tuple[str, ...]
    ascii_only: bool


def _parse(text: str, level: str) -> list[_Parsed]:
    """Readings of a name: (type prefix, remaining words). Two readings when an
    unaccented prefix could also be the start of the name ("Xa Phien")."""
    tokens = _tokens(text)
    ascii_only = not _has_diacritics(text)
    if ascii_only and len(tokens) > 1:
        for suffix in _ENGLISH_SUFFIXES.get(level, ()):
            sw = suffix.split()
            if len(tokens) > len(sw) and tokens[-len(sw):] == sw:
                tokens = tokens[: -len(sw)]
                break
    whole = _Parsed(None, tuple(tokens), ascii_only)
    for prefix, unit_type in _PREFIXES.get(level, []):
        n = len(prefix)
        if len(tokens) <= n:
            continue
        head = tokens[:n]
        if [strip_diacritics(t) for t in head] != [strip_diacritics(p) for p in prefix]:
            continue
        stripped = _Parsed(unit_type, tuple(tokens[n:]), ascii_only)
        # A prefix written with its diacritics ("xã"), or an abbreviation ("tp",
        # "p"), is certain. An unaccented full word ("xa") may also be the
        # start of the name ("Xà Phiên"): both readings are tried.
        abbreviation = all(strip_diacritics(p) == p for p in prefix)
        if abbreviation or list(head) == list(prefix):
            return [stripped]
        return [stripped, whole]
    return [whole]


def normalise_name(text: Any, level: str | None = None, keep_diacritics: bool = False) -> str:
    """The comparison form of a unit name: NFC, lower case, single spaces, no
    unit-type prefix (for ``level``, or any level when None), aliases resolved,
    and (unless ``keep_diacritics``) no diacritics.

    ``normalise_name("TP. Hồ Chí Minh") == normalise_name("Ho Chi Minh City")
    == normalise_name("HCM") == "ho chi minh"``.
    """
    if text is None:
        return ""
    levels = [level] if level else ["province", "district", "commune"]
    tokens = _tokens(str(text))
    for lv in levels:
        reading = _parse(str(text), lv)[0]
        if reading.unit_type is not None or len(levels) == 1:
            tokens = list(reading.tokens)
            break
    if level in (None, "province"):
        alias = PROVINCE_ALIASES.get(_key_ascii(tokens))
        if alias:
            tokens = _ALIAS_WORDS.get(alias, [alias])
    if keep_diacritics:
        return " ".join(tokens)
    return " ".join(strip_diacritics(t) for t in tokens)


_ALIAS_WORDS = {
    "hochiminh": ["ho", "chi", "minh"],
    "hue": ["hue"],
    "hanoi": ["ha", "noi"],
    "bariavungtau": ["ba", "ria", "vung", "tau"],
}


def unit_type_of(division_type: str) -> str:
    return _TYPE_OF_DIVISION.get(_nfc_lower(division_type).strip(), _nfc_lower(division_type).strip())


def split_official_name(name: str, division_type: str, level: str) -> tuple[str, list[str]]:
    """(canonical type, bare-name tokens) of an official name such as 'Xã Văn Lang'."""
    unit_type = unit_type_of(division_type)
    tokens = _tokens(name)
    for prefix, t in _PREFIXES.get(level, []):
        if t == unit_type and tuple(tokens[: len(prefix)]) == prefix and len(tokens) > len(prefix):
            return unit_type, tokens[len(prefix):]
    type_tokens = _tokens(unit_type)
    if tokens[: len(type_tokens)] == type_tokens and len(tokens) > len(type_tokens):
        return unit_type, tokens[len(type_tokens):]
    return unit_type, tokens


# -- indexes -------------------------------------------------------------------


@dataclass
class _Index:
    scheme: str
    level: str
    units: list[UnitCandidate]
    types: list[str]
    by_code: dict[str, int]
    by_dia: dict[str, list[int]]
    by_ascii: dict[str, list[int]]
    by_alias: dict[str, list[int]]
    ascii_keys: list[str]


def _build_index(scheme: str, level: str, rows: list[dict], aliases: dict[int, list[str]] | None = None) -> _Index:
    units: list[UnitCandidate] = []
    types: list[str] = []
    by_code: dict[str, int] = {}
    by_dia: dict[str, list[int]] = defaultdict(list)
    by_ascii: dict[str, list[int]] = defaultdict(list)
    by_alias: dict[str, list[int]] = defaultdict(list)
    ascii_keys: list[str] = []
    for i, r in enumerate(rows):
        r = {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
        cand = UnitCandidate(
            code=r["unit_code"], name=r["unit_name"], level=r.get("unit_level", level),
            province_code=r["province_code"], province_name=r["province_name"],
            district_code=r.get("district_code"), district_name=r.get("district_name"),
            division_type=r.get("division_type", ""),
        )
        unit_type, bare = split_official_name(cand.name, cand.division_type, cand.level)
        units.append(cand)
        types.append(unit_type)
        by_code[cand.code] = i
        by_dia[_key_diacritics(bare)].append(i)
        ka = _key_ascii(bare)
        by_ascii[ka].append(i)
        ascii_keys.append(ka)
    for i, keys in (aliases or {}).items():
        for k in keys:
            if i not in by_alias[k]:
                by_alias[k].append(i)
    return _Index(scheme, level, units, types, by_code, dict(by_dia), dict(by_ascii), dict(by_alias), ascii_keys)


@lru_cache(maxsize=8)
def _index(scheme: str, level: str) -> _Index:
    if scheme not in SCHEMES:
        raise UnitLookupError(f"unit scheme must be one of {SCHEMES}, got {scheme!r}")
    if level not in LEVELS:
        raise UnitLookupError(f"level must be one of {LEVELS}, got {level!r}")
    if scheme == "2025":
        if level == "district":
            raise UnitLookupError("there are no districts in the 2025 scheme (abolished on 1 July 2025)")
        from pipelines.reference.units import admin_units

        df = admin_units()
        rows = df[df["unit_level"] == level].to_dict("records")
        aliases: dict[int, list[str]] = {}
        if level == "province":
            by_key = {_key_ascii(split_official_name(r["unit_name"], r["division_type"], level)[1]): i
                      for i, r in enumerate(rows)}
            for alias, target in PROVINCE_ALIASES.items():
                if target in by_key:
                    aliases.setdefault(by_key[target], []).append(alias)
        return _build_index(scheme, level, rows, aliases)

    lu = legacy_units()
    if level == "commune":
        # communes, plus the five island districts that had no communes
        sel = (lu["unit_level"] == "commune") | ((lu["unit_level"] == "district") & ~lu["has_communes"])
    else:
        sel = lu["unit_level"] == level
    rows = lu[sel].to_dict("records")
    code_pos = {r["unit_code"]: i for i, r in enumerate(rows)}
    aliases = {}
    for code, keys in legacy_aliases(level).items():
        if code in code_pos:
            aliases[code_pos[code]] = list(keys)
    if level == "province":
        by_key = {_key_ascii(split_official_name(r["unit_name"], r["division_type"], level)[1]): i
                  for i, r in enumerate(rows)}
        for alias, target in PROVINCE_ALIASES.items():
            if target in by_key:
                aliases.setdefault(by_key[target], []).append(alias)
    return _build_index(scheme, level, rows, aliases)


# -- matching ------------------------------------------------------------------


def _code_text(name: Any, level: str) -> str | None:
    """The code an entry stands for, when it is written as a number."""
    if isinstance(name, bool):
        return None
    if isinstance(name, int):
        return f"{name:0{CODE_WIDTH[level]}d}" if name >= 0 else None
    if isinstance(name, float):
        return f"{int(name):0{CODE_WIDTH[level]}d}" if name.is_integer() and name >= 0 else None
    text = str(name).strip()
    m = re.fullmatch(r"(\d+)(?:\.0+)?", text)
    if not m:
        return None
    digits = m.group(1)
    width = CODE_WIDTH[level]
    return digits.zfill(width) if len(digits) <= width else digits


def _in_scope(idx: _Index, i: int, province_code: str | None, district_code: str | None) -> bool:
    u = idx.units[i]
    if province_code and u.province_code != province_code:
        return False
    if district_code and u.district_code != district_code and not (u.level == "district" and u.code == district_code):
        return False
    return True


def _suggest(idx: _Index, key: str, province_code: str | None, district_code: str | None,
             n: int = 5) -> tuple[UnitCandidate, ...]:
    if not key:
        return ()
    from rapidfuzz import fuzz, process

    scope = [i for i in range(len(idx.units)) if _in_scope(idx, i, province_code, district_code)]
    hits = process.extract(key, [idx.ascii_keys[i] for i in scope], scorer=fuzz.ratio, score_cutoff=60, limit=None)
    scored = sorted((-score, idx.units[scope[j]].code, scope[j]) for _, score, j in hits)
    return tuple(idx.units[i] for _, _, i in scored[:n])


def _successors(legacy: UnitMatch, level: str, province_code: str | None,
                successor_codes: Callable[..., list[str]] | None) -> list[UnitCandidate]:
    """The 2025 units a unit from before 1 July 2025 became part of (within the province given)."""
    if level != "commune" or successor_codes is None:
        return []
    idx = _index("2025", level)
    codes = successor_codes([c.code for c in legacy.candidates], province_code)
    return [idx.units[idx.by_code[c]] for c in codes if c in idx.by_code]


def match_unit(name: Any, level: str, province_code: str | None = None, scheme: str = "2025",
               district_code: str | None = None, successors: Callable[..., list[str]] | None = None) -> UnitMatch:
    """Match a unit name (or a code) to an official unit of ``level`` in ``scheme``.

    ``province_code`` (and, in the legacy scheme, ``district_code``) narrow the
    search; they are codes of the same scheme. See the module docstring for the
    rules. Never guesses: only ``status`` 'code' or 'exact' carry a unit_code.
    ``successors`` (``pipelines.units.crosswalk.successor_codes``): when a 2025 commune name is not found but
    is a commune from before 1 July 2025, the communes it became part of are suggested first.
    """
    scheme = str(scheme)
    idx = _index(scheme, level)
    query = "" if name is None else unicodedata.normalize("NFC", str(name)).strip()
    if province_code is not None and str(province_code).strip():
        province_code = _code_text(province_code, "province") or str(province_code).strip()
    else:
        province_code = None
    if district_code is not None and str(district_code).strip():
        district_code = _code_text(district_code, "district") or str(district_code).strip()
    else:
        district_code = None

    def result(status: str, **kw: Any) -> UnitMatch:
        return UnitMatch(query=query, level=level, scheme=scheme, status=status, **kw)

    if not query:
        return result("unmatched", note="empty name", details={"note_vi": "tên trống"})
    code = _code_text(name, level)
    if code is not None:
        return _match_code(idx, name, query, code, province_code, district_code, result)
    readings = _parse(query, level)
    found, type_conflicts = _match_name(idx, readings, level, province_code, district_code, result)
    if found is not None:
        return found
    key = _key_ascii(list(readings[0].tokens))
    suggestions = [idx.units[i] for i in type_conflicts]
    suggestions += [u for u in _suggest(idx, key, province_code, district_code) if u not in suggestions]
    note, note_vi = "", ""
    if type_conflicts:
        note = "a unit of this name exists with another type"
        note_vi = "có đơn vị cùng tên nhưng khác loại (xã/phường/thị trấn...)"
    elif scheme == "2025" and level != "district":
        legacy = match_unit(query, level, scheme="legacy")
        if legacy.status in ("exact", "ambiguous"):
            found_successors = _successors(legacy, level, province_code, successors)
            note = ("this is a unit from before 1 July 2025: declare unit_scheme = legacy "
                    "so that it is mapped through the crosswalk, or write the unit it is now part of")
            note_vi = ("đây là đơn vị trước ngày 1/7/2025: ghi unit_scheme = legacy (Hệ thống đơn vị = legacy) "
                       "để được chuyển đổi sang đơn vị mới, hoặc ghi tên đơn vị mới mà nó đã nhập vào")
            suggestions = found_successors + [u for u in suggestions if u not in found_successors]
    return result("unmatched", suggestions=tuple(suggestions[:5]), note=note, details={"note_vi": note_vi})


def _match_code(idx: _Index, name: Any, query: str, code: str, province_code: str | None,
                district_code: str | None, result: Callable[..., UnitMatch]) -> UnitMatch:
    """An entry written as a code: the unit of that code, within the province/district given."""
    # a code written with its own width first: '755' is the island district
    # Côn Đảo in legacy commune-level files, not commune 00755
    raw = query.split(".")[0]
    if raw in idx.by_code and (isinstance(name, str) or code not in idx.by_code):
        code = raw
    i = idx.by_code.get(code)
    if i is not None and _in_scope(idx, i, province_code, district_code):
        u = idx.units[i]
        return result("code", unit_code=u.code, unit_name=u.name, province_code=u.province_code,
                      method="code", candidates=(u,))
    if i is not None:
        u = idx.units[i]
        return result("unmatched", candidates=(u,),
                      note=f"code {code} is {u.label}, outside the province/district given",
                      details={"note_vi": f"mã {code} là {u.label}, không thuộc tỉnh/huyện đã ghi"})
    return result("unmatched", note=f"no {idx.scheme} {idx.level} has code {code}",
                  details={"note_vi": f"không có đơn vị nào mang mã {code} ({idx.scheme})"})


def _match_name(idx: _Index, readings: list[_Parsed], level: str, province_code: str | None,
                district_code: str | None, result: Callable[..., UnitMatch]
                ) -> tuple[UnitMatch | None, dict[int, None]]:
    """A name, tier by tier (with diacritics, without, former names): the unit when exactly one matches, the
    candidates when several do; else None and the units of this name but another type."""
    tiers: list[tuple[str, dict[str, list[int]], Any]] = []
    if not readings[0].ascii_only:
        tiers.append(("name", idx.by_dia, lambda r: _key_diacritics(list(r.tokens))))
    tiers.append(("name_without_diacritics", idx.by_ascii, lambda r: _key_ascii(list(r.tokens))))
    tiers.append(("alias", idx.by_alias, lambda r: _key_ascii(list(r.tokens))))

    type_conflicts: dict[int, None] = {}  # ordered: conflicts found by the first tiers first
    for method, table, keyfn in tiers:
        found: dict[int, None] = {}
        for reading in readings:
            hits = [i for i in table.get(keyfn(reading), []) if _in_scope(idx, i, province_code, district_code)]
            if reading.unit_type is not None and level != "province":
                typed = [i for i in hits if idx.types[i] == reading.unit_type]
                for i in sorted(set(hits) - set(typed), key=lambda i: idx.units[i].code):
                    type_conflicts.setdefault(i, None)
                hits = typed
            for i in hits:
                found[i] = None
        if len(found) == 1:
            u = idx.units[next(iter(found))]
            return result("exact", unit_code=u.code, unit_name=u.name, province_code=u.province_code,
                          method=method, candidates=(u,)), type_conflicts
        if len(found) > 1:
            cands = tuple(sorted((idx.units[i] for i in found), key=lambda c: c.code))
            return result("ambiguous", method=method, candidates=cands, suggestions=cands), type_conflicts
    return None, type_conflicts


def resolve_code(value: Any, level: str, scheme: str = "2025", province_code: str | None = None) -> str | None:
    """A code for a context column (province or district written as a code or a name), or None."""
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return None
    m = match_unit(value, level, province_code=province_code, scheme=scheme)
    return m.unit_code if m.accepted else None

"""The check catalogue (``pipelines/checks/catalogue.yaml``): one entry per check code.

Each entry gives the code, the severity, the asset it guards, the family (the
Dagster check it shows under), Vietnamese and English titles, the templates
of its messages and exactly one implementation: a Python function, a Great
Expectations expectation, a dbt test or a kind of dbt generic test. What runs
a check reads its severity and title here; the Dagster check specs, the
report's families, the codes a waiver may name and ``docs/checks.md`` are
generated from it. A check computes the values of its messages and the entry
holds the words: :func:`message` renders them
(``message("consistency.plausible_range", "failed", n=3)``).

``python -m pipelines.checks.catalogue`` writes ``docs/checks.md``.
"""

from __future__ import annotations

import importlib
import json
import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipelines.checks.core import BLOCKING, WARNING, CheckResult, result_from_failures
from pipelines.checks.keys import ASSETS
from pipelines.yamlfile import safe_load

CATALOGUE_PATH = Path(__file__).with_name("catalogue.yaml")
DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "checks.md"
EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
IMPLEMENTATIONS = ("python", "expectation", "dbt", "dbt_generic")
REQUIRED = ("code", "severity", "asset", "family", "title_vi", "title_en")
_PART = re.compile(r"<[a-z_]+>")


class CatalogueError(ValueError):
    """The catalogue file is not valid: the message names the entry and what is wrong."""


@dataclass(frozen=True)
class CheckEntry:
    code: str
    severity: str
    asset: str  # a name of pipelines.checks.keys.ASSETS
    family: str
    title_vi: str
    title_en: str
    kind: str  # python | expectation | dbt | dbt_generic
    implementation: str
    # the templates of its messages by name ("passed", "failed" and the parts they are made of), {value} fields
    messages: dict[str, str] = field(default_factory=dict)

    @property
    def asset_key(self) -> str:
        return ASSETS[self.asset]

    @property
    def pattern(self) -> re.Pattern | None:
        """For a code with a ``<part>``: the codes it stands for."""
        if not _PART.search(self.code):
            return None
        return re.compile("^" + _PART.sub("[A-Za-z0-9_]+", re.escape(self.code)) + "$")


@dataclass(frozen=True)
class Catalogue:
    entries: dict[str, CheckEntry]
    families: dict[str, tuple[str, str]]  # family -> (title_vi, title_en)

    def find(self, code: str) -> CheckEntry | None:
        """The entry of a code: its own, or the one with a ``<part>`` that stands for it (dbt generic tests
        are found by their kind, see :meth:`dbt_entry`)."""
        if code in self.entries:
            return self.entries[code]
        for e in self.entries.values():
            if e.kind != "dbt_generic" and e.pattern is not None and e.pattern.match(code):
                return e
        return None

    def dbt_entry(self, test_name: str, generic: str | None) -> CheckEntry | None:
        """The entry of a dbt test: its own (by name), or that of its kind of generic test."""
        own = self.entries.get(f"dbt.{test_name}")
        if own is not None or not generic:
            return own
        return next((e for e in self.entries.values() if e.kind == "dbt_generic" and e.implementation == generic),
                    None)

    def of_family(self, *families: str) -> list[CheckEntry]:
        return [e for e in self.entries.values() if e.family in families]

    def waivable(self, code: str) -> bool:
        """A waiver may name any code of the catalogue (a dbt test by its own name)."""
        return self.find(code) is not None or code.startswith("dbt.")

    def dagster_families(self) -> list[tuple[str, str, str]]:
        """(asset key, family, description) of each Dagster check a family shows as, on the asset it guards
        (ingest checks show per sector, dbt tests as dagster-dbt's own checks)."""
        seen: dict[tuple[str, str], list[str]] = {}
        for e in self.entries.values():
            if e.asset in ("ingest", "dbt_model"):
                continue
            seen.setdefault((e.asset_key, e.family), []).append(e.title_vi)
        return [(asset, family, f"{self.families[family][0]} / {self.families[family][1]}: {'; '.join(titles)}")
                for (asset, family), titles in seen.items()]


def _entry(n: int, raw) -> CheckEntry:
    where = f"{CATALOGUE_PATH.name} checks[{n}]"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping with {', '.join(REQUIRED)} and one implementation")
    where += f" ({raw.get('code', '?')})"
    missing = [k for k in REQUIRED if not str(raw.get(k) or "").strip()]
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(missing)}")
    kinds = [k for k in IMPLEMENTATIONS if k in raw]
    if len(kinds) != 1:
        raise CatalogueError(f"{where}: needs exactly one implementation ({' | '.join(IMPLEMENTATIONS)}), "
                             f"found {len(kinds)}")
    if raw["severity"] not in (BLOCKING, WARNING):
        raise CatalogueError(f"{where}: severity '{raw['severity']}' is neither {BLOCKING} nor {WARNING}")
    if raw["asset"] not in ASSETS:
        raise CatalogueError(f"{where}: unknown asset '{raw['asset']}' (known: {', '.join(ASSETS)})")
    unknown = set(raw) - set(REQUIRED) - set(IMPLEMENTATIONS) - {"message"}
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return CheckEntry(**{k: str(raw[k]) for k in REQUIRED}, kind=kinds[0], implementation=str(raw[kinds[0]]),
                      messages=_templates(where, raw.get("message") or {}))


def _fields(template: str) -> list[str]:
    """The value of each ``{...}`` of a template, as written (``{share:.0%}`` -> ``share``; ``{}`` -> "")."""
    return [name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template)
            if name is not None]


def placeholders(template: str) -> set[str]:
    """The names of the values a template needs (``{n} rows, {share:.0%}`` -> {"n", "share"})."""
    return set(_fields(template))


def _templates(where: str, raw) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise CatalogueError(f"{where}: message: expected a mapping of names to templates (text)")
    for name, template in raw.items():
        try:
            names = _fields(template)
        except ValueError as exc:
            raise CatalogueError(f"{where}: message {name}: {exc} in {template!r}") from None
        if any(not n.isidentifier() for n in names):
            raise CatalogueError(f"{where}: message {name}: every {{}} must name a value: {template!r}")
    return {str(k): v for k, v in raw.items()}


def parse_catalogue(doc: dict) -> Catalogue:
    """Validate a catalogue document: unknown asset or family, duplicate code, missing title, no or two
    implementations -> ``CatalogueError`` naming the entry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("checks"), list):
        raise CatalogueError(f"{CATALOGUE_PATH.name}: expected 'families:' and 'checks:' (a list)")
    families = {k: (v["title_vi"], v["title_en"]) for k, v in (doc.get("families") or {}).items()}
    entries: dict[str, CheckEntry] = {}
    for n, raw in enumerate(doc["checks"]):
        e = _entry(n, raw)
        if e.code in entries:
            raise CatalogueError(f"{CATALOGUE_PATH.name} checks[{n}]: code {e.code} is listed twice")
        if e.family not in families:
            raise CatalogueError(f"{CATALOGUE_PATH.name} checks[{n}] ({e.code}): family '{e.family}' is not "
                                 f"under families:")
        entries[e.code] = e
    return Catalogue(entries=entries, families=families)


@lru_cache(maxsize=1)
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    return parse_catalogue(safe_load(path.read_text(encoding="utf-8")))


def missing_implementations(cat: Catalogue, dbt_manifest: dict | None = None) -> list[str]:
    """Entries whose implementation does not exist: no such function, expectation or dbt test."""
    problems = []
    suites = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in EXPECTATIONS_DIR.glob("*.json")}
    tests = {n["name"]: n for n in (dbt_manifest or {}).get("nodes", {}).values() if n["resource_type"] == "test"}
    kinds = {(n.get("test_metadata") or {}).get("name") for n in tests.values()}
    for e in cat.entries.values():
        if e.kind == "python":
            module, _, name = e.implementation.partition(":")
            if not callable(getattr(importlib.import_module(module), name, None)):
                problems.append(f"{e.code}: no function {e.implementation}")
        elif e.kind == "expectation":
            suite, _, ident = e.implementation.partition(".")
            ids = [x["meta"]["id"] for x in suites.get(suite, {}).get("expectations", [])]
            if ident not in ids:
                problems.append(f"{e.code}: no expectation {ident} in expectations/{suite}.json")
        elif dbt_manifest is not None and e.kind == "dbt" and e.implementation not in tests:
            problems.append(f"{e.code}: no dbt test {e.implementation}")
        elif dbt_manifest is not None and e.kind == "dbt_generic" and e.implementation not in kinds:
            problems.append(f"{e.code}: no dbt test of kind {e.implementation}")
    return problems


def stamp(results: list[CheckResult], cat: Catalogue | None = None) -> None:
    """Give each result the severity of its catalogue entry, and its title when the check gave none (in
    place); a code the catalogue does not hold keeps what its check said."""
    cat = cat or load_catalogue()
    for r in results:
        e = cat.find(r.code)
        if e is None or e.kind.startswith("dbt"):
            continue
        r.severity = e.severity
        r.title_vi = r.title_vi or e.title_vi


def severity_of(code: str) -> str:
    e = load_catalogue().find(code)
    if e is None:
        raise KeyError(f"check {code} is not in {CATALOGUE_PATH.name}")
    return e.severity


def title_of(code: str) -> str:
    e = load_catalogue().find(code)
    return e.title_vi if e is not None else code


def message(code: str, name: str = "failed", /, **values) -> str:
    """The message ``name`` of check ``code`` with its values: ``CatalogueError`` when the check or the
    template is not in the catalogue, or a value the template names is not given."""
    e = load_catalogue().find(code)
    if e is None:
        raise CatalogueError(f"check {code} is not in {CATALOGUE_PATH.name}")
    template = e.messages.get(name)
    if template is None:
        raise CatalogueError(f"check {code} ({e.code} in {CATALOGUE_PATH.name}) has no message '{name}' "
                             f"(it has: {', '.join(e.messages) or 'none'})")
    missing = placeholders(template) - set(values)
    if missing:
        raise CatalogueError(f"message '{name}' of check {code} needs {', '.join(sorted(missing))}, not given "
                             f"(given: {', '.join(sorted(values)) or 'nothing'})")
    return template.format(**values)


def messages(code: str, names: tuple[str, ...], /, **values) -> tuple[str, ...]:
    """Several messages of check ``code`` with the same values (an English and a Vietnamese one)."""
    return tuple(message(code, name, **values) for name in names)


def catalogue_result(code: str, failures, *, severity: str, asset: str, title_vi: str,
                     unit_column: str | None = "unit_code", **values) -> CheckResult:
    """``result_from_failures`` with the message of the entry: its ``passed`` template, or its ``failed`` one
    with ``n`` (the number of failures) and ``values``."""
    r = result_from_failures(code, severity, failures, ok_message="", fail_message="", asset=asset,
                             title_vi=title_vi, unit_column=unit_column)
    r.message = message(code, "passed" if r.passed else "failed", n=r.failures, **values)
    return r


def docs_markdown(cat: Catalogue | None = None) -> str:
    """docs/checks.md: every check of the catalogue, by family."""
    cat = cat or load_catalogue()
    lines = ["# Các kiểm tra chất lượng / Quality checks", "",
             "Generated from `pipelines/checks/catalogue.yaml` by `python -m pipelines.checks.catalogue`; "
             "do not edit by hand. A blocking check that fails stops publication unless a waiver names its code.",
             ""]
    for family, (vi, en) in cat.families.items():
        entries = cat.of_family(family)
        if not entries:
            continue
        lines += [f"## {vi} / {en} (`{family}`)", "", "| Mã / code | Mức / severity | Tài sản / asset | "
                  "Kiểm tra / check | Check | Thực hiện / implementation | Thông báo / messages |",
                  "|---|---|---|---|---|---|---|"]
        for e in entries:
            asset = e.asset_key or "mô hình dbt / the dbt model"
            lines.append(f"| `{e.code}` | {e.severity} | {asset} | {_md(e.title_vi)} | {_md(e.title_en)} | "
                         f"{e.kind}: `{e.implementation}` | {_messages_cell(e)} |")
        lines.append("")
    return "\n".join(lines)


def _md(text: str) -> str:
    """Text for a cell of a Markdown table: its pipes escaped, angle brackets as text."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _messages_cell(e: CheckEntry) -> str:
    """The templates of an entry in a table cell: ``name``: template, one per line."""
    return "<br>".join(f"`{name}`: {_md(template)}" for name, template in e.messages.items()) or "-"


if __name__ == "__main__":
    DOCS_PATH.write_text(docs_markdown(), encoding="utf-8")
    print(f"wrote {DOCS_PATH}")

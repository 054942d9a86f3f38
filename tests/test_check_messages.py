"""The messages of the checks: templates of the check catalogue, values from the checks.

* ``message`` renders a template with its values, and a value missing, a template or a check unknown is an
  error that names them;
* every template of the catalogue is rendered somewhere in ``pipelines/``, and every place that renders it
  gives every value it names (read from the code: each call of ``message``, ``messages``, ``catalogue_result``
  and ``quarantine_message`` with the names of its keyword arguments);
* ``docs/checks.md`` shows every template.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from pipelines.checks import catalogue as cat

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "pipelines"

# the functions that render templates of the catalogue: (module, name) -> the templates a call renders
RENDERERS = {
    ("pipelines.checks.catalogue", "message"): "one",  # message(code, name, **values)
    ("pipelines.checks.catalogue", "messages"): "several",  # messages(code, (name, ...), **values)
    ("pipelines.checks.catalogue", "catalogue_result"): "result",  # passed, failed with n and **values
    ("pipelines.quality.checks", "quarantine_message"): "quarantine",  # message(<a quarantine code>, name, ...)
}
QUARANTINE = "pipelines.quality.checks:ingest_checks"
# a code computed at run time outside a check's own function: the kinds of checks of the module
KINDS_OF_MODULE = {"pipelines.quality.expectations": ("expectation",), "pipelines.checks.dbt": ("dbt", "dbt_generic")}


def _doc(entry: dict) -> dict:
    return {"families": {"output": {"title_vi": "Đầu ra", "title_en": "Output"}},
            "checks": [{"code": "x.one", "severity": "blocking", "asset": "province_ranking", "family": "output",
                        "title_vi": "Một", "title_en": "One", "python": "pipelines.quality.checks:data_present",
                        **entry}]}


def test_a_message_is_its_template_with_the_values_of_the_check():
    # consistency.plausible_range: "{n} giá trị nằm ngoài ... / {n} values outside ..."
    assert cat.message("consistency.plausible_range", "failed", n=3) == (
        "3 giá trị nằm ngoài khoảng hợp lý khai báo trong phương pháp / "
        "3 values outside the plausible range declared in the methodology")
    # a format spec: a share of 0.9 is shown as 90%
    assert cat.message("completeness.commune_reporting", "passed", share=0.9) == (
        "Every province reports every mandatory data element for at least 90% of its communes")
    # a code with a <part> renders the template of its entry
    assert cat.message("consistency.age_groups_sum", "passed", name_en="Age groups") == (
        "Age groups: holds for every unit")
    assert cat.messages("consistency.no_variation", ("en", "vi"), code="I1", dom="D1") == (
        "I1 (D1) has the same score in every ranked province: it does not separate provinces and no "
        "correlation is defined.",
        "I1 (D1) có cùng điểm ở mọi tỉnh được xếp hạng: chỉ tiêu không phân biệt được các tỉnh.")


def test_a_value_missing_is_an_error_naming_the_check_and_the_value():
    with pytest.raises(cat.CatalogueError) as err:
        cat.message("plausibility.year_on_year", "failed", n=2, limit=0.5)
    assert "plausibility.year_on_year" in str(err.value) and "needs previous" in str(err.value)


def test_an_unknown_template_or_check_is_an_error():
    with pytest.raises(cat.CatalogueError, match="has no message 'nowhere'.*passed, failed"):
        cat.message("output.all_provinces", "nowhere")
    with pytest.raises(cat.CatalogueError, match="check no.such is not in"):
        cat.message("no.such", "failed")


@pytest.mark.parametrize(("message", "said"), [
    ("not a mapping", "expected a mapping"),
    ({"failed": "{n rows"}, "message failed"),
    ({"failed": "{} rows"}, "must name a value"),
    ({"failed": "{0} rows"}, "must name a value"),
])
def test_a_bad_template_is_refused_naming_the_entry(message, said):
    with pytest.raises(cat.CatalogueError, match="x.one") as err:
        cat.parse_catalogue(_doc({"message": message}))
    assert said in str(err.value)


def test_placeholders_are_the_names_of_the_values():
    assert cat.placeholders("{n} rows, {share:.0%} of {n}; {{literal}}") == {"n", "share"}


# -- every template is rendered, with every value it names ---------------------------------------------------

def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _pattern(node: ast.JoinedStr) -> re.Pattern:
    """An f-string as a pattern: its text as written, each {value} any name."""
    return re.compile("^" + "".join(re.escape(v.value) if isinstance(v, ast.Constant) else "[A-Za-z0-9_<>]+"
                                     for v in node.values) + "$")


class _Calls(ast.NodeVisitor):
    """The calls of the renderers in one module, each with its code, the names it renders and its values."""

    def __init__(self, module: str, tree: ast.Module):
        self.module, self.calls, self.function = module, [], None
        self.renderers = {name: kind for (mod, name), kind in RENDERERS.items() if mod == module}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    kind = RENDERERS.get((node.module, alias.name))
                    if kind:
                        self.renderers[alias.asname or alias.name] = kind
        self.constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                          for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer = self.function
        self.function = self.function or node  # the module-level function a call is in
        self.generic_visit(node)
        self.function = outer

    def _local(self, name: str, line: int):
        """The constant last assigned to a local name before ``line`` in the current function."""
        found = None
        for n in ast.walk(self.function) if self.function else ():
            if (isinstance(n, ast.Assign) and n.lineno < line and isinstance(n.value, ast.Constant)
                    and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)):
                if found is None or n.lineno > found.lineno:
                    found = n
        return found.value.value if found else self.constants.get(name)

    def _code(self, node: ast.expr, kind: str, line: int):
        """A code (text), a pattern of codes, or None: a code computed at run time."""
        if kind == "quarantine":
            return None
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self._local(node.id, line)
        if isinstance(node, ast.JoinedStr):  # a code with a part that comes from the methodology: its entry
            return "".join(v.value if isinstance(v, ast.Constant) else "some_part" for v in node.values)
        return None

    @staticmethod
    def _names(node: ast.expr) -> list:
        if isinstance(node, ast.Constant):
            return [node.value]
        if isinstance(node, ast.IfExp):
            return _Calls._names(node.body) + _Calls._names(node.orelse)
        if isinstance(node, ast.JoinedStr):
            return [_pattern(node)]
        if isinstance(node, ast.Tuple):
            return [n for e in node.elts for n in _Calls._names(e)]
        raise AssertionError(f"a template name that is not written in the code: {ast.unparse(node)}")

    def visit_Call(self, node: ast.Call) -> None:
        kind = self.renderers.get(node.func.id) if isinstance(node.func, ast.Name) else None
        if kind and not any(k.arg is None for k in node.keywords):  # a call passing **values on: a wrapper
            values = {k.arg for k in node.keywords}
            if kind == "result":
                names, values = ["passed", "failed"], values | {"n"}
            else:
                names = self._names(node.args[1])
            where = f"{self.module}:{node.lineno}"
            implements = f"{self.module}:{self.function.name}" if self.function else None
            self.calls.append((self._code(node.args[0], kind, node.lineno), kind, implements, names, values, where))
        self.generic_visit(node)


def _entries_of(code, kind: str, implements: str | None, c: cat.Catalogue) -> list[cat.CheckEntry]:
    if kind == "quarantine":
        return [e for e in c.entries.values() if e.implementation == QUARANTINE]
    if isinstance(code, str):
        return [c.find(code)] if c.find(code) else []
    module = implements.split(":")[0] if implements else ""
    return [e for e in c.entries.values() if (e.kind == "python" and e.implementation == implements)
            or e.kind in KINDS_OF_MODULE.get(module, ())]


def _renders() -> dict[tuple[str, str], list[tuple[set, str]]]:
    """(entry code, template name) -> (the values given, where) of every call that renders it."""
    c = cat.load_catalogue()
    found: dict[tuple[str, str], list[tuple[set, str]]] = defaultdict(list)
    for path in sorted(PIPELINES.rglob("*.py")):
        if path.name == "catalogue.py" and path.parent.name == "checks":
            continue
        calls = _Calls(_module_name(path), ast.parse(path.read_text(encoding="utf-8")))
        calls.visit(ast.parse(path.read_text(encoding="utf-8")))
        for code, kind, implements, names, values, where in calls.calls:
            entries = _entries_of(code, kind, implements, c)
            assert entries, f"{where}: renders a message of no check of the catalogue ({code})"
            for name in names:
                # a code computed at run time stands for the checks of its function that have the message
                computed = len(entries) > 1
                rendered = 0
                for e in entries:
                    matched = [n for n in e.messages if (name.match(n) if isinstance(name, re.Pattern) else n == name)]
                    assert matched or computed, f"{where}: {e.code} has no message {name}"
                    rendered += len(matched)
                    for n in matched:
                        found[(e.code, n)].append((values, where))
                assert rendered, f"{where}: no check of {[e.code for e in entries]} has a message {name}"
    return found


def test_every_template_is_rendered_with_every_value_it_names():
    renders = _renders()
    problems = []
    for e in cat.load_catalogue().entries.values():
        for name, template in e.messages.items():
            calls = renders.get((e.code, name))
            if not calls:
                problems.append(f"{e.code} {name}: no code renders it")
            for values, where in calls or []:
                missing = cat.placeholders(template) - values
                if missing:
                    problems.append(f"{e.code} {name}: {where} does not give {', '.join(sorted(missing))}")
    assert problems == []


def test_every_check_of_python_has_its_messages():
    """A Python check's results say passed and failed in the catalogue's words (the robustness warnings:
    failed; the summary consistency.internal: passed)."""
    for e in cat.load_catalogue().entries.values():
        if e.kind == "python" and e.code != "consistency.internal":
            assert "failed" in e.messages, e.code
        if e.kind == "python" and e.severity == "blocking":
            assert "passed" in e.messages, e.code


def test_the_docs_show_every_template():
    docs = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    c = cat.load_catalogue()
    for e in c.entries.values():
        row = next(line for line in docs.splitlines() if line.startswith(f"| `{e.code}` |"))
        for name, template in e.messages.items():
            shown = template.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            assert f"`{name}`: {shown}" in row, (e.code, name)
    # for instance (written out by hand)
    assert ("`failed`: {n} tỉnh không có trong bảng xếp hạng / {n} provinces missing from the ranking"
            in docs)

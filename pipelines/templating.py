"""The Jinja2 environment of the reports: templates beside the code, every text escaped, Vietnamese formats.

Filters (``pipelines.formats``, Babel ``vi``): ``num(decimals)`` 1.234,5;
``count`` 3.321; ``compact`` up to 2 decimals; ``pct`` a share as 12,3%;
``pct_value`` a value already in percent; ``local_time`` and ``local_date`` in
Asia/Ho_Chi_Minh; ``attr`` an SVG coordinate (a plain dot: SVG is not text).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipelines import formats


def svg_number(value: float | None) -> str:
    """A coordinate for an SVG attribute (SVG needs a dot as the decimal mark)."""
    if value is None:
        return "0"
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=None)
def environment(folder: str) -> Environment:
    """The environment that loads the templates of ``folder`` (a path as text, cached)."""
    env = Environment(
        loader=FileSystemLoader(str(Path(folder))),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=formats.number, count=formats.count, compact=formats.compact, pct=formats.percent,
        pct_value=formats.percent_value, local_time=formats.local_time, local_date=formats.local_date,
        attr=svg_number,
    )
    env.globals["DASH"] = formats.DASH
    return env


def render(folder: Path, template: str, **context) -> str:
    return environment(str(folder)).get_template(template).render(**context)


def render_macro(folder: Path, template: str, macro: str, /, **values) -> str:
    """One macro of a template (a sentence or a paragraph kept with others of its kind), with its values."""
    return str(getattr(environment(str(folder)).get_template(template).module, macro)(**values))

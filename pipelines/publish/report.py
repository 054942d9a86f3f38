"""The ranking report: ``report.html`` (one self-contained file) and ``report.pdf`` (A4, to print and annex).

``write_report_html`` takes the release tables as plain DataFrames plus the
methodology (never the warehouse) and writes one file that opens offline and
prints: inline CSS, charts as inline SVG, no scripts, no fonts or images from
the network. ``write_report_pdf`` writes the printable version (A4, page
numbers, the release and its date in the footer; its first page is a one-page
summary fit to annex to an official decision), rendered by WeasyPrint.

The words and the layout are in the templates (``templates/*.html.j2``, Jinja2,
every value escaped); ``report_data`` normalises the tables and
``report_views`` computes what each part shows. Numbers, percentages and dates
are formatted by Babel (``vi``: 1.234,5; 12,3%; times in Asia/Ho_Chi_Minh).

The main page: a summary (key figures, the tile map coloured by tier), the
national ranking table, the PCRI chart with rank intervals, the domain heatmap,
one folded card per province, the national indicators against the targets,
the commune rankings (folded, one block per province), data quality and the
method note (``templates/method_note.html.j2``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from pipelines.methodology import Methodology
from pipelines.publish.report_data import (  # noqa: F401 - the names other modules import from here
    ProvinceRow,
    ReportData,
    as_float,
    as_int,
    as_text,
    method_summary,
    national_indicator_values,
    prepare,
    target_gaps,
    target_year,
    tier_styles,
)
from pipelines.publish.report_views import report_context
from pipelines.templating import render

__all__ = [
    "write_report_html",
    "write_report_pdf",
    "render_report_html",
    "render_report_pdf_html",
    "national_indicator_values",
    "target_gaps",
    "target_year",
    "method_summary",
]

TEMPLATES = Path(__file__).with_name("templates")


def _context(period: str, methodology: Methodology, province_ranking: pd.DataFrame, domain_scores: pd.DataFrame,
             indicator_values: pd.DataFrame, quality: Mapping[str, Any] | None = None,
             uncertainty: pd.DataFrame | None = None, profiles: Mapping[str, Any] | None = None,
             commune_ranking: pd.DataFrame | None = None, previous_period: str | None = None,
             units_note: str | None = None, release: Mapping[str, Any] | None = None,
             history_html: str | None = None, disclosure: pd.DataFrame | None = None) -> dict[str, Any]:
    data = prepare(period, methodology, province_ranking, domain_scores, indicator_values, quality, uncertainty,
                   profiles, commune_ranking, previous_period)
    data.units_note = units_note
    if release:
        data.release, data.released_at = release.get("release"), release.get("created_at")
    protection = ([{"label": r.label_vi, "cells": int(r.cells)} for r in disclosure.itertuples()]
                  if disclosure is not None and len(disclosure) else [])  # how the release was protected
    return {**report_context(data), "history_html": Markup(history_html) if history_html else None,
            "protection": protection}


def render_report_html(period: str, methodology: Methodology, province_ranking: pd.DataFrame,
                       domain_scores: pd.DataFrame, indicator_values: pd.DataFrame,
                       quality: Mapping[str, Any] | None = None, uncertainty: pd.DataFrame | None = None,
                       profiles: Mapping[str, Any] | None = None, commune_ranking: pd.DataFrame | None = None,
                       previous_period: str | None = None, units_note: str | None = None,
                       release: Mapping[str, Any] | None = None, history_html: str | None = None,
                       disclosure: pd.DataFrame | None = None) -> str:
    """The report as one HTML string (see ``write_report_html``).

    ``release``: ``{"release": "v3", "created_at": "<UTC ISO>"}`` when the report is part of a release.
    ``history_html``: the series, targets and equity sections (``publish.series.render_sections``).
    ``disclosure``: how the release was protected (``means``, ``label_vi``, ``cells``), for the method note.
    """
    context = _context(period, methodology, province_ranking, domain_scores, indicator_values, quality,
                       uncertainty, profiles, commune_ranking, previous_period, units_note, release, history_html,
                       disclosure)
    return render(TEMPLATES, "report.html.j2", **context)


def render_report_pdf_html(period: str, methodology: Methodology, province_ranking: pd.DataFrame,
                           domain_scores: pd.DataFrame, indicator_values: pd.DataFrame, **options: Any) -> str:
    """The HTML WeasyPrint turns into ``report.pdf`` (same options as ``render_report_html``)."""
    context = _context(period, methodology, province_ranking, domain_scores, indicator_values, **options)
    return render(TEMPLATES, "report_pdf.html.j2", **context)


def write_report_html(path: str | os.PathLike, period: str, methodology: Methodology,
                      province_ranking: pd.DataFrame, domain_scores: pd.DataFrame, indicator_values: pd.DataFrame,
                      quality: Mapping[str, Any] | None = None, uncertainty: pd.DataFrame | None = None,
                      profiles: Mapping[str, Any] | None = None, commune_ranking: pd.DataFrame | None = None,
                      previous_period: str | None = None, units_note: str | None = None,
                      release: Mapping[str, Any] | None = None, history_html: str | None = None,
                      disclosure: pd.DataFrame | None = None) -> Path:
    """Write the ranking report of ``period`` to ``path`` (one self-contained UTF-8 HTML file).

    Inputs are the release tables as DataFrames; ``quality``, ``uncertainty``,
    ``profiles`` and ``commune_ranking`` add their sections when given. The file
    is written to a temporary name beside ``path`` and renamed, so a reader never
    sees half a report. Returns the path.
    """
    text = render_report_html(period, methodology, province_ranking, domain_scores, indicator_values, quality,
                              uncertainty, profiles, commune_ranking, previous_period, units_note, release,
                              history_html, disclosure)
    return write_bytes_atomic(Path(path), text.encode("utf-8"))


def write_report_pdf(path: str | os.PathLike, period: str, methodology: Methodology,
                     province_ranking: pd.DataFrame, domain_scores: pd.DataFrame, indicator_values: pd.DataFrame,
                     **options: Any) -> Path:
    """Write ``report.pdf``: A4, page numbers, release and date in the footer, a one-page summary first.

    Same options as ``write_report_html``. Rendered by WeasyPrint from
    ``templates/report_pdf.html.j2``; written atomically like the HTML.
    """
    from weasyprint import HTML  # imported here: loading Pango takes a moment

    text = render_report_pdf_html(period, methodology, province_ranking, domain_scores, indicator_values, **options)
    payload = HTML(string=text, base_url=str(TEMPLATES)).write_pdf()
    return write_bytes_atomic(Path(path), payload)


def write_bytes_atomic(path: Path, payload: bytes) -> Path:
    """Write ``payload`` to a temporary file beside ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

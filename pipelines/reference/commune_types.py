"""Commune types for the child-friendly commune assessment: reference data that operators maintain.

Decision 06/QĐ-TTg sets the recognition threshold by commune type (urban
wards, mountain / island / especially disadvantaged communes, all others).
Those types do not exist as such since 1 July 2025 and no official mapping
has been published: by the project's reading (the assessment file's
``default_for``), a commune gets the type of its division type in the
official unit list (phường: ``urban_ward_central_city``, 900 points; đặc khu:
``mountain_island_disadvantaged``, 800; xã: the default ``other``, 850).
The lists of especially difficult, mountain and island communes are not in
the unit list, so operators keep a file that overrides the default::

    $CRI_HOME/reference/commune_types.csv

UTF-8 (a BOM is fine), comma-separated, a header row with at least
``commune_code`` (5 digits, the 2025 codes) and ``commune_type`` (a code of
the assessment's ``commune_types``: ``urban_ward_central_city``,
``mountain_island_disadvantaged``, ``other``); other columns (names, notes)
are ignored. The demo data writes a synthetic one.

:func:`read_commune_types` turns it into ``ref.commune_types``: one row per
commune of the reference units, with ``type_source`` ``file`` or ``default``.
It never fails on the file's content: a missing file, unknown codes, unknown
types, conflicting duplicates and communes the file does not list all give
the default type of their division type and a warning (shown in the asset's
metadata).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.warehouse import replace_table, table_exists

FILE_NAME = "commune_types.csv"
REFERENCE_FOLDER = "reference"
# The types of Decision 06/QĐ-TTg, used when the methodology has no assessment.
DEFAULT_TYPES = ("urban_ward_central_city", "mountain_island_disadvantaged", "other")
DEFAULT_TYPE = "other"
# The project's reading of the 2019 types for the 2025 units, used when the methodology has no assessment
# (the assessment file's `default_for` otherwise).
DEFAULT_BY_DIVISION = {"phường": "urban_ward_central_city", "đặc khu": "mountain_island_disadvantaged"}
COLUMNS = ["commune_code", "commune_type", "type_source"]


def commune_types_path(home: Path | str | None = None) -> Path:
    """``$CRI_HOME/reference/commune_types.csv`` (default: the CRI_HOME of the settings)."""
    if home is None:
        from pipelines.settings import get_settings

        home = get_settings().home
    return Path(home) / REFERENCE_FOLDER / FILE_NAME


@dataclass
class CommuneTypes:
    """``ref.commune_types`` and what was found reading the file."""

    frame: pd.DataFrame
    path: Path
    file_found: bool
    sha256: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.frame["commune_type"].value_counts().sort_index().items()}

    @property
    def from_file(self) -> int:
        return int((self.frame["type_source"] == "file").sum())


def default_commune_types(units: pd.DataFrame, default: str = DEFAULT_TYPE,
                          by_division: dict[str, str] | None = None) -> pd.DataFrame:
    """Every commune of the reference units with the default type of its division type (else ``default``)."""
    by_division = DEFAULT_BY_DIVISION if by_division is None else by_division
    communes = units[units["unit_level"] == "commune"].sort_values("unit_code")
    divisions = communes["division_type"] if "division_type" in communes.columns else pd.Series("", communes.index)
    kinds = divisions.map(lambda d: by_division.get(str(d).strip().lower(), default))
    return pd.DataFrame({"commune_code": communes["unit_code"].astype(str).to_numpy(),
                         "commune_type": kinds.to_numpy(), "type_source": "default"})[COLUMNS]


def read_commune_types(path: Path | str, units: pd.DataFrame, types: tuple[str, ...] = DEFAULT_TYPES,
                       default: str = DEFAULT_TYPE, by_division: dict[str, str] | None = None) -> CommuneTypes:
    """Read the operator's file into one row per commune (see the module text); never raises on content."""
    path = Path(path)
    out = default_commune_types(units, default, by_division)
    if not path.is_file():
        return CommuneTypes(out, path, False, warnings=[
            f"{path} không có: mọi xã nhận loại mặc định theo loại đơn vị (phường, xã, đặc khu) / not found: every "
            f"commune has the default type of its division type"])
    data = path.read_bytes()
    result = CommuneTypes(out, path, True, sha256=hashlib.sha256(data).hexdigest())
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig", keep_default_na=False,
                          skipinitialspace=True)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        result.warnings.append(f"{path}: không đọc được / cannot be read ({exc}); every commune has the default "
                               "type of its division type")
        return result
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in ("commune_code", "commune_type") if c not in raw.columns]
    if missing:
        result.warnings.append(f"{path}: thiếu cột / missing column '{missing[0]}'; every commune has the default "
                               "type of its division type")
        return result
    rows = pd.DataFrame({
        "commune_code": raw["commune_code"].str.strip().str.zfill(5),
        "commune_type": raw["commune_type"].str.strip().str.lower(),
        "line": range(2, len(raw) + 2),
    })
    rows = rows[(rows["commune_code"] != "00000") | (rows["commune_type"] != "")]
    known = set(out["commune_code"])
    unknown_code = rows[~rows["commune_code"].isin(known)]
    if len(unknown_code):
        result.warnings.append(
            f"{len(unknown_code)} dòng có mã xã không có trong danh mục (bỏ qua) / rows with an unknown commune code "
            f"(ignored), e.g. line {unknown_code['line'].iloc[0]}: '{unknown_code['commune_code'].iloc[0]}'")
    bad_type = rows[rows["commune_code"].isin(known) & ~rows["commune_type"].isin(types)]
    if len(bad_type):
        result.warnings.append(
            f"{len(bad_type)} dòng có loại xã không hợp lệ (dùng loại mặc định) / rows with an unknown commune type "
            f"(taken as the default of their division type), e.g. line {bad_type['line'].iloc[0]}: "
            f"'{bad_type['commune_type'].iloc[0]}'; "
            f"expected one of {list(types)}")
    good = rows[rows["commune_code"].isin(known) & rows["commune_type"].isin(types)]
    conflicting = good.groupby("commune_code")["commune_type"].nunique()
    conflicting = conflicting[conflicting > 1].index
    if len(conflicting):
        result.warnings.append(
            f"{len(conflicting)} xã có hai loại khác nhau (dùng loại mặc định) / communes listed with two different "
            f"types (taken as the default of their division type), e.g. {conflicting[0]}")
    good = good[~good["commune_code"].isin(conflicting)].drop_duplicates("commune_code")
    listed = set(rows["commune_code"])
    absent = len(known - listed)
    if absent:
        result.warnings.append(
            f"{absent} xã không có trong tệp (dùng loại mặc định) / communes not in the file (taken as the default "
            "of their division type)")
    typed = out.merge(good[["commune_code", "commune_type"]], on="commune_code", how="left", suffixes=("", "_file"))
    from_file = typed["commune_type_file"].notna()
    typed.loc[from_file, "commune_type"] = typed.loc[from_file, "commune_type_file"]
    typed.loc[from_file, "type_source"] = "file"
    result.frame = typed[COLUMNS].reset_index(drop=True)
    return result


def load_commune_types(con: duckdb.DuckDBPyConnection, commune_types: CommuneTypes) -> int:
    """Write ``ref.commune_types``."""
    return replace_table(con, "ref.commune_types", commune_types.frame)


def ensure_commune_types(con: duckdb.DuckDBPyConnection, units: pd.DataFrame) -> None:
    """Create ``ref.commune_types`` (every commune with the default type of its division type) when missing.

    So the dbt models can run on a warehouse where the operator's file was
    never loaded; the ``reference/commune_types`` asset replaces it.
    """
    if not table_exists(con, "ref.commune_types"):
        replace_table(con, "ref.commune_types", default_commune_types(units))

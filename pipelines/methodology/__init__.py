"""Load and validate the versioned methodology file (``methodology/*.yaml``).

The method (data elements, indicators, formulas, directions, goalposts,
weights, domains, tiers) is data. This module reads it, refuses a file that
is inconsistent with a message naming the entry and the field, and turns it
into the ``ref.*`` tables that the dbt models read.

The methodology may name a child-friendly commune assessment file
(``commune_assessment: commune-assessment-2019.yaml``, Decision 06/QĐ-TTg):
its criteria, items, point bands and thresholds by commune type are read into
:class:`CommuneAssessment` and become the ``ref.assessment*`` tables.
"""

from pipelines.methodology.assessment import (
    ASSESSMENT_COLUMNS,
    AssessmentItem,
    AssessmentResult,
    Band,
    CommuneAssessment,
    CommuneType,
    Criterion,
    load_commune_assessment,
    parse_commune_assessment,
    resolve_assessment_path,
)
from pipelines.methodology.base import (
    AGGREGATIONS,
    ASSESSMENT_INPUTS,
    ASSESSMENT_PERIODS,
    DIRECTIONS,
    KINDS,
    LEVELS,
    NORMALISATIONS,
    DataElement,
    Domain,
    Indicator,
    MethodologyError,
    Sector,
)
from pipelines.methodology.model import Methodology, ValueBounds, parse_value_bounds
from pipelines.methodology.parse import load_methodology, parse_methodology

__all__ = [
    "AGGREGATIONS", "ASSESSMENT_COLUMNS", "ASSESSMENT_INPUTS", "ASSESSMENT_PERIODS", "DIRECTIONS", "KINDS", "LEVELS",
    "NORMALISATIONS", "AssessmentItem", "AssessmentResult", "Band", "CommuneAssessment", "CommuneType", "Criterion",
    "DataElement", "Domain", "Indicator", "Methodology", "MethodologyError", "Sector", "ValueBounds",
    "load_commune_assessment", "load_methodology", "parse_commune_assessment", "parse_methodology",
    "parse_value_bounds", "resolve_assessment_path",
]

"""Work taken off a run's critical path gives the same results."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from pipelines.ops.warmup import LATER_STEPS, import_in_background
from pipelines.publish.targets import period_position, period_positions


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "category"])
def test_period_positions_are_those_of_each_row(dtype):
    periods = pd.Series(["2025", "2025H1", "2024", "2025H2", "2025"], dtype=dtype)
    # by hand: a year is its number, H1 a quarter year before it, H2 a quarter year after it
    expected = [2025.0, 2024.75, 2024.0, 2025.25, 2025.0]
    positions = period_positions(periods)
    assert [float(x) for x in positions] == expected
    assert positions.equals(periods.map(period_position))  # the same values and dtype as row by row


def test_a_bad_period_is_refused_as_before():
    with pytest.raises(ValueError, match="'2025Q1' is not a period"):
        period_positions(pd.Series(["2025", "2025Q1"]))


def test_background_imports_skip_a_module_that_does_not_import():
    code = (
        "import sys\n"
        "from pipelines.ops.warmup import import_in_background\n"
        "import_in_background(('no_such_module_of_the_pipeline', 'email.mime.text')).join()\n"
        "print('email.mime.text' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "True"
    assert "weasyprint" in LATER_STEPS and "openpyxl" in LATER_STEPS
    assert import_in_background(()).daemon

"""Import the slow libraries of the later steps while a run waits on dbt.

The dbt step spends its time waiting for the dbt process; meanwhile this
process is idle. The quality gate needs Great Expectations (seconds to
import), the analysis SciPy and SALib, the release openpyxl and WeasyPrint (the PDF): importing them in a
background thread during dbt takes that time off the run. An import that
fails here is left to the step that needs it, which imports it again and
reports the error there.
"""

from __future__ import annotations

import importlib
import threading

LATER_STEPS = ("great_expectations", "scipy.stats", "SALib.analyze.sobol", "SALib.sample.sobol", "openpyxl",
               "weasyprint")


def import_in_background(modules: tuple[str, ...] = LATER_STEPS) -> threading.Thread:
    def work() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the step that uses the module reports its error
                pass

    thread = threading.Thread(target=work, name="import-later-steps", daemon=True)
    thread.start()
    return thread

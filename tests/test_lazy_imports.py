"""Loading the Dagster definitions imports none of the slow libraries that only the later steps use."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from pipelines import formats

ROOT = Path(__file__).parent.parent


def test_loading_the_definitions_leaves_the_later_steps_libraries_unimported():
    code = (
        "import sys\n"
        "import pipelines.definitions\n"
        "from pipelines import formats\n"
        "slow = ('great_expectations', 'openpyxl', 'weasyprint', 'scipy', 'SALib', 'matplotlib')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in slow))\n"
        "print(formats._locale.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True).stdout
    imported, locales_loaded = out.split("\n")[:2]
    assert imported == "[]"
    assert locales_loaded == "0"  # Babel's Vietnamese locale data is read with the first formatted number


def test_numbers_and_dates_are_formatted_as_before_once_the_locale_is_read():
    # Vietnamese: a dot groups thousands, a comma marks decimals; half away from zero
    assert formats.number(1234.5, 2) == "1.234,50"
    assert formats.number(60.125, 2) == "60,13"
    assert formats.count(3321) == "3.321"
    assert formats.compact(4 / 3) == "1,33"
    assert formats.percent(0.123) == "12,3%"
    assert formats.local_date(date(2026, 12, 6)) == "06/12/2026"
    # 11:24 UTC is 18:24 in Viet Nam (UTC+7)
    assert formats.local_time(datetime(2026, 12, 6, 11, 24, tzinfo=timezone.utc)) == "06/12/2026 18:24 (giờ Việt Nam)"
    assert formats._locale().language == "vi"

"""Stage-by-stage progress lines for people running commands.

Steps print one short line each to the terminal (standard error, which
Dagster does not capture in-process); the Dagster UI keeps the full event log.
"""

from __future__ import annotations

import sys
import time

_start = time.monotonic()


def say(stage: str, message: str) -> None:
    elapsed = time.monotonic() - _start
    print(f"[{elapsed:6.1f}s] {stage:<10} {message}", file=sys.__stderr__, flush=True)

"""Moved to :mod:`pipelines.checks.core` (every stage may import it); kept for outside callers."""

from pipelines.checks.core import (  # noqa: F401
    BLOCKING, MAX_EXAMPLES, WARNING, CheckResult, examples_from, load_results, plain_words, record_results,
    result_from_failures,
)

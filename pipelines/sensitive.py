"""Which figures are sensitive (abuse, conflict with the law): shared by the quality report and publication."""

from __future__ import annotations


def sensitive_indicator_codes(methodology) -> set[str]:
    """Indicators whose numerator includes a data element marked ``sensitive: true``."""
    elements = methodology.elements_by_code
    return {i.code for i in methodology.indicators if any(elements[c].sensitive for c in i.numerator)}

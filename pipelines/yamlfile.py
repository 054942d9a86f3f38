"""YAML read with libyaml's parser when PyYAML has it (several times faster than the pure-Python one).

Only the scanner and parser are libyaml's: the constructors and resolvers are PyYAML's own safe ones, so a
document reads to the same values. A document that does not read is read again by the pure-Python loader,
whose error is the one reported, as before.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, quicker."""
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)

"""Synthetic demo landing data (see generate.py)."""

from pipelines.demo.generate import SMALL_PROVINCES, DemoSummary, write_demo_data

__all__ = ["SMALL_PROVINCES", "DemoSummary", "write_demo_data"]

"""Streaming reductions over chunks: every check reads the data through :func:`scan`."""

from .stats import ArrayStats, ScanOptions, scan

__all__ = ["ArrayStats", "ScanOptions", "scan"]

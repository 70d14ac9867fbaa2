"""Repairs: pure functions on arrays (``kernels``), then writers."""

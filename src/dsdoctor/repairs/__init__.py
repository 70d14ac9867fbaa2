"""Repairs: one module per repair over the numeric ``kernels``, then writers."""

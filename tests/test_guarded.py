"""Reads in a child process with a deadline: arrays of every dtype come back exactly, errors and
hangs become SourceError."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dsdoctor.errors import SourceError
from dsdoctor.sources.hdf5.guarded import call_with_deadline


@pytest.mark.parametrize("dtype", ["i1", "u1", "<i8", ">f4", "<f8", "?", "<c16", "<u2"])
def test_arrays_round_trip(dtype):
    a = (np.arange(24) % 7).astype(dtype).reshape(2, 3, 4)
    b = np.arange(5, dtype=np.int64)
    out = call_with_deadline(lambda: [a, b, np.empty((0, 3), dtype=dtype)], "x")
    assert out[0].dtype == a.dtype and np.array_equal(out[0], a)
    assert np.array_equal(out[1], b) and out[2].shape == (0, 3)


def test_error_in_the_child_is_a_source_error():
    def boom():
        raise OSError("Can't synchronously read data")

    with pytest.raises(SourceError, match="Can't synchronously read data"):
        call_with_deadline(boom, "f.h5:/x")


def test_a_hang_is_killed_at_the_deadline():
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="did not finish within 1 s"):
        call_with_deadline(lambda: time.sleep(60) or [], "f.h5:/x", seconds=1)
    assert time.monotonic() - t0 < 10

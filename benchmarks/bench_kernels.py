"""Time the pad kernel against the memory floor and Keras.

300k int32 sequences with lognormal lengths (mean ~100, clipped to 1..2000, fixed seed) padded
(pre/pre, value 0) to 256. Prints the best of 5 runs of each (taken in turn) and its ratio to the floor:

- floor: allocate the output (``np.full``) and the mask (``np.zeros``) once and write every kept
  timestep once (a contiguous copy) -- what any pad must at least do;
- ``pad_values``: data + mask + lengths;
- Keras: ``keras.utils.pad_sequences`` on the list of sequences, then the mask Keras' ``Masking``
  would compute (``data != 0``; the values are 1..999, so that mask is right here).

Run: ``KERAS_BACKEND=numpy python benchmarks/bench_kernels.py [--n 300000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from dsdoctor.kernels import offsets_from_lengths, pad_values

MAXLEN = 256


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sigma = 1.0
    lengths = rng.lognormal(np.log(100) - sigma**2 / 2, sigma, n)
    lengths = np.clip(np.round(lengths), 1, 2000).astype(np.int64)
    offsets = offsets_from_lengths(lengths)
    values = rng.integers(1, 1000, int(offsets[-1]), dtype=np.int32)
    return values, offsets


def best_of(funcs: list[Callable[[], object]], repeat: int) -> list[float]:
    """Best time of each function, running them in turn so that noise hits them alike."""
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for i, func in enumerate(funcs):
            start = time.perf_counter()
            result = func()
            best[i] = min(best[i], time.perf_counter() - start)
            del result
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-keras", action="store_true", help="skip the (slow) Keras run")
    args = parser.parse_args()

    values, offsets = make_data(args.n)
    n = len(offsets) - 1
    kept = int(np.minimum(np.diff(offsets), MAXLEN).sum())

    def floor() -> tuple[np.ndarray, np.ndarray]:
        data = np.full((n, MAXLEN), 0, dtype=np.int32)
        mask = np.zeros((n, MAXLEN), dtype=bool)
        data.reshape(-1)[:kept] = values[:kept]
        mask.reshape(-1)[:kept] = True
        return data, mask

    def kernel() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return pad_values(values, offsets, maxlen=MAXLEN, value=0)

    rows = [("floor (np.full + np.zeros + one write)", floor), ("pad_values", kernel)]
    if not args.no_keras:
        os.environ.setdefault("KERAS_BACKEND", "numpy")
        import keras

        sequences = np.split(values, offsets[1:-1])

        def keras_pad() -> tuple[np.ndarray, np.ndarray]:
            data = keras.utils.pad_sequences(sequences, maxlen=MAXLEN, dtype="int32", value=0)
            return data, data != 0

        rows.append(("keras pad_sequences + mask", keras_pad))

    print(
        f"{n} sequences, {len(values)} timesteps (mean length {len(values) / n:.1f}), "
        f"padded to {MAXLEN} int32; best of {args.repeat}"
    )
    times = best_of([func for _, func in rows], args.repeat)
    for (name, _), seconds in zip(rows, times, strict=True):
        print(f"  {name:<40} {seconds * 1000:9.1f} ms  {seconds / times[0]:6.2f}x floor")


if __name__ == "__main__":
    main()

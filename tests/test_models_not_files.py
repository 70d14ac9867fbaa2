"""A model path that is not a regular file — a FIFO, a link to /dev/zero — is refused before
it is opened, whatever its format (models/base.py read_model): reading it would block forever
or never end."""

from __future__ import annotations

import os

import pytest

from .model_read_guarded import guarded_read

NAMES = ["model.onnx", "model.tflite", "MLmodel", "model.keras", "model.h5", "model.safetensors",
         "model.pt"]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_a_fifo(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    out = guarded_read(path, timeout=60)  # a reader that opened it would hang here
    assert out["error"] == "SourceError" and "not a regular file" in out["message"]


@pytest.mark.parametrize("name", NAMES)
def test_a_link_to_dev_zero(tmp_path, name):
    path = tmp_path / name
    path.symlink_to("/dev/zero")
    out = guarded_read(path, limit=2**30, timeout=60)
    assert out["error"] == "SourceError" and "not a regular file" in out["message"]

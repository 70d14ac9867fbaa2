"""What a model file says its inputs and outputs are, read from declarative metadata only.

Never code, never pickle: a ``.keras`` zip's JSON, a legacy Keras ``.h5``'s ``model_config``
attribute, an ONNX graph (no external data), a safetensors header, a TFLite flatbuffer, an
MLflow ``MLmodel`` signature. :func:`read_model` picks the reader by the file's name and magic.
"""

from __future__ import annotations

from .base import ModelFacts, TensorSpec, read_model

__all__ = ["ModelFacts", "TensorSpec", "read_model"]

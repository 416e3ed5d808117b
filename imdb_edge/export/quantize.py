"""int8 weights with onnxruntime's own dynamic quantization (weights int8, activations on the fly)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any


def quantize_int8(proto: Any, per_channel: bool = False) -> Any:
    """Return an int8 copy of `proto`: MatMul and Gather weights quantized, weight type pinned."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs advice about static pre-processing on the root logger; it does not apply here.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    with tempfile.TemporaryDirectory(prefix="imdb-edge-quant-") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save_model(proto, source)
        quantize_dynamic(
            source,
            target,
            op_types_to_quantize=["MatMul", "Gather"],
            per_channel=per_channel,
            weight_type=QuantType.QInt8,
        )
        return onnx.load_model(target)

"""int8 weights with onnxruntime's own dynamic quantization (weights int8, activations on the fly)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def quantize_int8(proto: Any, per_channel: bool = False) -> Any:
    """Return an int8 copy of `proto`: MatMul and Gather weights quantized, weight type pinned."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

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

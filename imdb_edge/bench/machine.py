"""A description of the device, so benchmark results from different machines compare."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

_FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm", "sve")


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key and value and key not in info:
                info[key] = value
    except OSError:
        pass
    return info


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def describe_machine() -> dict[str, Any]:
    """CPU model, architecture, cores, memory, OS and the versions that matter for speed."""
    import numpy
    import onnxruntime

    cpu = _cpuinfo()
    flags = set((cpu.get("flags") or cpu.get("Features") or "").split())
    model = cpu.get("model name") or cpu.get("Model") or cpu.get("Hardware") or platform.processor() or "unknown"
    return {
        "cpu": model,
        "architecture": platform.machine(),
        "cores": os.cpu_count(),
        "int8_dot_product_flags": sorted(flags & set(_FLAGS_OF_INTEREST)),
        "memory_bytes": _memory_bytes(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "onnxruntime": onnxruntime.__version__,
        "providers": onnxruntime.get_available_providers(),
    }

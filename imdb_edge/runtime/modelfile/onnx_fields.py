"""The onnx.proto3 field numbers this package reads and writes, in one place.

The model file is walked with a tiny wire-format reader (protowire.py) instead of the
`onnx` package, so the message layouts it relies on are named here once.
"""

from __future__ import annotations

from typing import Final

# ModelProto
MODEL_GRAPH: Final = 7
MODEL_METADATA: Final = 14
MODEL_FUNCTIONS: Final = 25

# GraphProto
GRAPH_NODE: Final = 1
GRAPH_INITIALIZER: Final = 5
GRAPH_INPUT: Final = 11
GRAPH_OUTPUT: Final = 12
GRAPH_SPARSE_INITIALIZER: Final = 15

# NodeProto
NODE_INPUT: Final = 1
NODE_OUTPUT: Final = 2
NODE_OP: Final = 4
NODE_ATTRIBUTE: Final = 5
NODE_DOMAIN: Final = 7

# AttributeProto
ATTR_NAME: Final = 1
ATTR_INT: Final = 3
ATTR_STRING: Final = 4
ATTR_TENSOR: Final = 5
ATTR_GRAPH: Final = 6
ATTR_INTS: Final = 8
ATTR_STRINGS: Final = 9
ATTR_TENSORS: Final = 10
ATTR_GRAPHS: Final = 11
ATTR_TYPE: Final = 20

# TensorProto
TENSOR_DIMS: Final = 1
TENSOR_DATA_TYPE: Final = 2
TENSOR_NAME: Final = 8
TENSOR_RAW_DATA: Final = 9
TENSOR_EXTERNAL_DATA: Final = 13
TENSOR_DATA_LOCATION: Final = 14
TENSOR_UINT8: Final = 2
TENSOR_UINT64: Final = 13
"""TensorProto.DataType values of the runtime's arrays."""

# ValueInfoProto
VALUE_INFO_NAME: Final = 1

# StringStringEntryProto (a metadata entry)
ENTRY_KEY: Final = 1
ENTRY_VALUE: Final = 2

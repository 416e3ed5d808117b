"""The model file: one ONNX file with imdb-edge metadata, read and verified without the `onnx` package.

`reader.read_model_file` is the door: wire format (`protowire`), field numbers
(`onnx_fields`), the runtime's arrays (`arrays`), checksums, the graph check and the
metadata contract (`schema`); `describe` is what `imdb-edge info` shows.
"""

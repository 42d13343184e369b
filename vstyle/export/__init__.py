"""Export of the per-frame graph: one ONNX file / one TensorRT engine serves every style.

Modules: :mod:`.graph` (the exportable wrapper), :mod:`.onnx_export` (ONNX bytes, metadata, cache),
:mod:`.shapes` (N×H×W parsing and profile checks), :mod:`.sidecar` (engine metadata and
compatibility checks) and :mod:`.trt_build` (TensorRT builder, imported lazily).
"""

"""Models leave PyTorch: ONNX export with the input convention in the metadata, INT8 quantization recipes, the
runtimes (one onnxruntime session factory, our ncnn reader), and every classifier — the suite's, its exports, the
published ones — behind one P(live) interface. Taught in ``04_onnx_int8_export.ipynb``.
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "onnx_export": "export_onnx load_onnx onnx_parity published_onnx_parity read_convention",
    "sessions": "run_onnx session",
    "ncnn_format": "read_ncnn run_ncnn",
    "quantization": "RECIPES calibration_inputs op_histogram quantize recipe_table",
    "classifiers": "Classifier load_classifier",
})

"""Measuring speed, memory and size: interleaved timing with paired ratios, runners for onnxruntime, ncnn and
OpenCV, facts about each model and the machine, the suite's benchmark, and its figures.
Taught in ``06_benchmarking.ipynb`` (``python -m fasutils bench``).
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "timing": "interleaved_latency latency_table paired_ratios",
    "runners": "onnx_runner profile_ops",
    "facts": "describe machine_description",
    "suite": "SUITE_BASELINES pipeline_fps run_benchmark suite_models suite_pipelines summary",
    "figures": "latency_distributions latency_vs_size operator_times thread_scaling",
})

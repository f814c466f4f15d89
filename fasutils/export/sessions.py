"""The one way the suite opens an ONNX model in onnxruntime, and runs a classifier's input through it.

:func:`session` is the single session factory: CPU provider, explicit intra-op threads, one inter-op thread,
sequential execution, a named graph-optimization level and, on request, onnxruntime's profiler. Every session of
the export, detection and benchmark code comes from it. :func:`run_onnx` / :func:`run_session` feed (N, 3, H, W)
inputs, image by image to a file whose batch is fixed to 1 (:func:`batch_feeds`). Introduced in
``04_onnx_int8_export.ipynb``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fasutils.core.errors import ExportError

if TYPE_CHECKING:  # imported lazily at run time: onnxruntime is slow to import
    import onnxruntime as ort

OPTIMIZATION_LEVELS = ("all", "extended", "basic", "disabled")


def session(path: str | Path | bytes, threads: int | None = None, optimization: str = "all", *,
            profile_prefix: str | None = None) -> ort.InferenceSession:
    """An onnxruntime CPU session of the ONNX file at ``path`` (or of a serialized model's bytes) with explicit
    choices: ``threads`` intra-op threads (None: onnxruntime's default), one inter-op thread, sequential execution,
    graph optimization "all" / "extended" / "basic" / "disabled"; with ``profile_prefix``, onnxruntime's profiler
    on, writing to files starting with it. :class:`ExportError` naming the file if onnxruntime cannot load it."""
    import onnxruntime as ort

    if optimization not in OPTIMIZATION_LEVELS:
        raise ExportError(f"optimization must be one of {', '.join(OPTIMIZATION_LEVELS)}, not {optimization!r}")
    levels = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}
    options = ort.SessionOptions()
    options.graph_optimization_level = levels[optimization]
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = threads
    if profile_prefix is not None:
        options.enable_profiling, options.profile_file_prefix = True, profile_prefix
    source, name = (path, "the serialized model") if isinstance(path, bytes) else (str(path), path)
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/NoSuchFile types
        raise ExportError(f"{name}: onnxruntime cannot load it ({str(error).splitlines()[0]})") from None


def batch_feeds(runner: ort.InferenceSession, inputs: np.ndarray) -> list[dict[str, np.ndarray]]:
    """The feeds that run ``inputs`` (N, ...) through ``runner``: the whole batch in one, or one image each if the
    model's batch is fixed to 1 (e.g. hairymax's exports) and N is not 1."""
    model_input = runner.get_inputs()[0]
    batch = np.ascontiguousarray(inputs, dtype=np.float32)
    if model_input.shape[0] == 1 and len(batch) != 1:
        return [{model_input.name: image[None]} for image in batch]
    return [{model_input.name: batch}]


def run_onnx(path: str | Path, inputs: np.ndarray) -> np.ndarray:
    """Outputs of the ONNX model at ``path`` for ``inputs`` (N, 3, H, W), one at a time if its batch is fixed to 1."""
    return run_session(session(path), inputs)


def run_session(runner: ort.InferenceSession, inputs: np.ndarray) -> np.ndarray:
    """:func:`run_onnx` on a session already open (to score many batches with one session)."""
    return np.concatenate([runner.run(None, feed)[0] for feed in batch_feeds(runner, inputs)])

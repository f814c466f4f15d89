"""TODO docstring (onnx_export)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fasutils.core.errors import ExportError

if TYPE_CHECKING:  # imported lazily at run time: onnx and onnxruntime are slow to import
    import onnxruntime as ort



def session(path: str | Path, threads: int | None = None, optimization: str = "all") -> ort.InferenceSession:
    """An onnxruntime CPU session with explicit choices: ``threads`` intra-op threads (None: onnxruntime's
    default), one inter-op thread, sequential execution, graph optimization "all" / "extended" / "basic" /
    "disabled"."""
    import onnxruntime as ort

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
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/NoSuchFile types
        raise ExportError(f"{path}: onnxruntime cannot load it ({str(error).splitlines()[0]})") from None


def run_onnx(path: str | Path, inputs: np.ndarray) -> np.ndarray:
    """Outputs of the ONNX model at ``path`` for ``inputs`` (N, 3, H, W), one at a time if its batch is fixed to 1."""
    return run_session(session(path), inputs)


def run_session(runner: ort.InferenceSession, inputs: np.ndarray) -> np.ndarray:
    """:func:`run_onnx` on a session already open (to score many batches with one session)."""
    model_input = runner.get_inputs()[0]
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    if model_input.shape[0] == 1:  # e.g. hairymax's exports: a batch of exactly one
        return np.concatenate([runner.run(None, {model_input.name: x[None]})[0] for x in inputs])
    return runner.run(None, {model_input.name: inputs})[0]

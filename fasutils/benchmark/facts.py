"""What a benchmark records about each model and the machine besides time.

:class:`BenchModel` is one model under test (runtime, files, input size, batch sizes) and makes its runner;
its facts are file size, weights and MACs per image counted in an ONNX graph (:func:`onnx_arithmetic`), and peak
resident memory measured in a child process (:func:`peak_memory_mb`, Linux ``/proc``). :func:`describe` tabulates
them; :func:`machine_description` records the machine a measurement ran on. Introduced in
``06_benchmarking.ipynb`` (``machine_description`` already in ``04_onnx_int8_export.ipynb``).
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.benchmark.runners import RUNTIME_MODULES, ncnn_runner, onnx_runner, yunet_runner
from fasutils.core.errors import BenchmarkError
from fasutils.export.onnx_export import load_onnx
from fasutils.export.sessions import session

PRODUCT_OPS = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3, "Gemm": 1, "MatMul": 1, "MatMulInteger": 1,
               "QLinearMatMul": 3, "QGemm": 3}  # operators that multiply by weights -> index of the weight input
ISA_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_int8")


def onnx_arithmetic(path: str | Path, input_size: tuple[int, int]) -> tuple[int, int]:
    """(weights, MACs per image) of the convolutions and matrix products of an ONNX model on one (3, H, W) input.

    The graph runs once at batch 1 with each product's output exposed, so the shapes are onnxruntime's own
    (dynamic reshapes and quantized or contrib operators included): FP32 and INT8 files of one network give the
    same counts. Biases, normalisations and activation slopes are not counted.
    """
    import onnx

    graph = load_onnx(path)
    weights = {tensor.name: tuple(tensor.dims) for tensor in graph.graph.initializer}
    products = [(node, weights[node.input[PRODUCT_OPS[node.op_type]]]) for node in graph.graph.node
                if node.op_type in PRODUCT_OPS and node.input[PRODUCT_OPS[node.op_type]] in weights]
    graph.graph.output.extend(onnx.ValueInfoProto(name=node.output[0]) for node, _ in products)
    runner = session(graph.SerializeToString(), optimization="disabled")  # "disabled": keep every product node
    image = np.zeros((1, 3, *input_size), np.float32)  # (1, 3, H, W)
    outputs = runner.run([node.output[0] for node, _ in products], {runner.get_inputs()[0].name: image})
    macs = 0
    for (node, shape), output in zip(products, outputs, strict=True):
        transposed = any(a.name == "transB" and a.i for a in node.attribute)
        reduced = math.prod(shape[1:]) if "Conv" in node.op_type else shape[1 if transposed else 0]
        macs += output.size * reduced  # each output value sums `reduced` products
    return sum(math.prod(shape) for _, shape in products), macs


@dataclass(frozen=True)
class BenchModel:
    """One model under test: its runtime, its files, its input, and where its arithmetic is counted."""

    name: str
    task: str  # "classifier" or "detector": which baseline its ratios refer to
    runtime: str  # "onnxruntime" (an .onnx), "ncnn" (.param, .bin) or "opencv" (YuNet's .onnx in FaceDetectorYN)
    files: tuple[Path, ...]
    input_size: tuple[int, int]  # (height, width)
    batches: tuple[int, ...] = (1,)  # batch sizes it is timed at
    counted_in: Path | None = None  # an ONNX file of the same network for weights and MACs (default: files[0])
    note: str = ""

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIME_MODULES:
            raise BenchmarkError(f"runtime must be one of {', '.join(RUNTIME_MODULES)}, not {self.runtime!r}")

    def runner(self, batch: int, threads: int) -> Callable[[], object]:
        """A zero-argument call running the model once on a seeded random batch (N, 3, H, W) in [0, 1)."""
        inputs = np.random.default_rng(0).random((batch, 3, *self.input_size), dtype=np.float32)
        if self.runtime == "onnxruntime":
            return onnx_runner(self.files[0], inputs, threads)
        if self.runtime == "ncnn":
            return ncnn_runner(*self.files, inputs, threads)
        return yunet_runner(self.files[0], (inputs.transpose(0, 2, 3, 1) * 255).astype(np.uint8), threads)

    def facts(self, memory: bool = True) -> dict[str, object]:
        """Task, runtime, input, size, weights, MACs per image, peak RSS (measured when ``memory``), note."""
        weights, macs = onnx_arithmetic(self.counted_in or self.files[0], self.input_size)
        return {"task": self.task, "runtime": self.runtime, "input": f"{self.input_size[1]}x{self.input_size[0]}",
                "size MB": sum(f.stat().st_size for f in self.files) / 1e6, "weights": weights, "MACs": macs,
                "peak RSS MB": peak_memory_mb(self) if memory else math.nan, "note": self.note}


def _status_kib(key: str) -> int:
    """A ``VmRSS``/``VmHWM``-style entry of this process's /proc status, in KiB."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(f"{key}:"))
    return int(line.split()[1])


def _model_memory(model: BenchModel, threads: int, calls: int) -> float:
    """In a fresh child: MB the model adds to the resident high-water mark while it loads and runs at batch 1."""
    for module in RUNTIME_MODULES[model.runtime]:
        importlib.import_module(module)
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # restart the high-water mark (VmHWM) from the current size
    run = model.runner(1, threads)
    for _ in range(calls):
        run()
    return (_status_kib("VmHWM") - before) / 1024


def peak_memory_mb(model: BenchModel, threads: int = 1, calls: int = 10) -> float:
    """Peak resident memory (MB) the model adds to a process: loaded and run ``calls`` times at batch 1 in a new
    child process that has imported its runtime, high-water mark minus the resident size before. Linux only
    (``/proc``); NaN elsewhere."""
    if not Path("/proc/self/clear_refs").exists():
        return math.nan
    with get_context("forkserver").Pool(1) as pool:
        return pool.apply(_model_memory, (model, threads, calls))


def describe(models: Sequence[BenchModel], memory: bool = True, progress: bool = True) -> pd.DataFrame:
    """One row of :meth:`BenchModel.facts` per model, indexed by name."""
    rows = {m.name: m.facts(memory) for m in tqdm(models, desc="model facts", disable=not progress, leave=False)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def machine_description() -> dict[str, str]:
    """:func:`~fasutils.core.settings.environment_rows`, ncnn's version, the CPU's vector and matrix extensions that
    decide INT8 and FP16 speed, and the load average (other users' work) when it is called."""
    from importlib.metadata import version

    from fasutils.core.settings import environment_rows

    cpuinfo = Path("/proc/cpuinfo")
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("flags")), []) if cpuinfo.exists() else []
    return {**dict(environment_rows()), "ncnn": version("ncnn"),
            "cpu extensions": " ".join(f for f in ISA_FLAGS if f in flags) or "unknown",
            "load average 1/5/15 min": " ".join(f"{v:.2f}" for v in os.getloadavg())}

"""Speed measured fairly on a shared, noisy machine: interleaved rounds, percentiles, paired ratios, profiles,
throughput, memory and arithmetic.

All models under test run in the same process, round-robin: in each round every model runs ``per_round`` times
in turn, so a burst of load from elsewhere hits all of them alike. A ratio to the baseline is taken per round
(median of the model / median of the baseline in that round) and the median of those paired ratios is reported.
Speed targets live here and in the notebooks, never in timed unit tests.

:func:`run_benchmark` times a list of :class:`BenchModel` (onnxruntime, ncnn or OpenCV's YuNet) at several thread
counts and batch sizes, one interleaved pass per setting, and records each model's file size, weights, MACs
(:func:`onnx_arithmetic`), achieved GFLOP/s and peak resident memory (:func:`peak_memory_mb`, in a child process).
:func:`suite_models` is the suite's comparison (ours FP32/INT8, the published files, the detectors);
:func:`pipeline_fps` times detect + crop + classify on photos. Introduced in ``04_onnx_int8_export.ipynb``;
``06_benchmarking.ipynb`` and ``python -m fasutils bench`` build on it.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.errors import FasError
from fasutils.face_boxes import NCNN_INPUT_SIZE, YoloV7LiteOnnx
from fasutils.files import atomic_write_text
from fasutils.onnx_export import OnnxModelError, load_onnx, session
from fasutils.yolov7_lite import PUBLISHED_NCNN

if TYPE_CHECKING:
    from fasutils.face_detection import Face
    from fasutils.pipeline import Pipeline

RUNTIME_MODULES = {"onnxruntime": ("onnxruntime",), "ncnn": ("ncnn",), "opencv": ("cv2", "fasutils.face_detection")}
PRODUCT_OPS = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3, "Gemm": 1, "MatMul": 1, "MatMulInteger": 1,
               "QLinearMatMul": 3, "QGemm": 3}  # operators that multiply by weights -> index of the weight input
ISA_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_int8")
RATIO = "× baseline (paired)"
CLASSIFIER_BATCHES = (1, 8, 32)
SUITE_BASELINES = {"classifier": "johnraivenolazo 128 FP32", "detector": "YuNet 640 OpenCV"}


def interleaved_latency(runners: Mapping[str, Callable[[], object]], *, rounds: int = 5, per_round: int = 50,
                        warmup: int = 20, progress: bool = True) -> pd.DataFrame:
    """Time each runner ``rounds x per_round`` times, interleaved; one row per call: model, round, ms."""
    if not runners:
        raise ValueError("no runners to time")
    for run in runners.values():
        for _ in range(warmup):
            run()
    rows = []
    for round_index in tqdm(range(rounds), desc="latency rounds", disable=not progress, leave=False):
        for name, run in runners.items():
            for _ in range(per_round):
                start = time.perf_counter()
                run()
                rows.append((name, round_index, (time.perf_counter() - start) * 1e3))
    return pd.DataFrame(rows, columns=["model", "round", "ms"])


def paired_ratios(samples: pd.DataFrame, baseline: str) -> pd.Series:
    """Per model of ``samples``: the median over rounds of (its median ms in the round / the baseline's)."""
    per_round = samples.groupby(["model", "round"])["ms"].median().unstack("round")  # (models, rounds)
    if baseline not in per_round.index:
        raise ValueError(f"baseline {baseline!r} is not among the timed models {list(per_round.index)}")
    return (per_round / per_round.loc[baseline]).median(axis=1)


def latency_table(samples: pd.DataFrame, baseline: str | None = None, batch: int = 1) -> pd.DataFrame:
    """p50/p90/p99 ms and images/s per model; with ``baseline``, the median of per-round paired ratios."""
    grouped = samples.groupby("model", sort=False)["ms"]
    table = pd.DataFrame({"p50 ms": grouped.median(), "p90 ms": grouped.quantile(0.9),
                          "p99 ms": grouped.quantile(0.99)})
    table["images/s"] = batch * 1e3 / table["p50 ms"]
    if baseline is not None:
        table[f"× {baseline} (paired)"] = paired_ratios(samples, baseline)
    return table


def onnx_runner(path: str | Path, inputs: np.ndarray, threads: int, optimization: str = "all") -> Callable[[], object]:
    """A zero-argument call running the ONNX model at ``path`` once on ``inputs`` (its session built now).

    A file whose batch is fixed to 1 (e.g. hairymax's exports) runs the batch image by image, as its users must.
    """
    runner = session(path, threads=threads, optimization=optimization)
    model_input = runner.get_inputs()[0]
    batch = np.ascontiguousarray(inputs, dtype=np.float32)
    if model_input.shape[0] == 1 and len(batch) > 1:
        feeds = [{model_input.name: image[None]} for image in batch]
        return lambda: [runner.run(None, feed) for feed in feeds]
    feed = {model_input.name: batch}
    return lambda: runner.run(None, feed)


def profile_ops(path: str | Path, inputs: np.ndarray, *, threads: int = 1, runs: int = 100) -> pd.DataFrame:
    """onnxruntime's profiler over ``runs`` calls: time per run by operator type, after graph optimisation.

    Columns: ms per run, share of the total, kernels per run, and whether the kernel computes in integers.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    load_onnx(path)  # a clear error for a file that is not ONNX
    with tempfile.TemporaryDirectory() as scratch:
        options.enable_profiling, options.profile_file_prefix = True, os.path.join(scratch, "profile")
        try:
            runner = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's own exception types
            raise OnnxModelError(f"{path}: onnxruntime cannot load it ({str(error).splitlines()[0]})") from None
        feed = {runner.get_inputs()[0].name: np.ascontiguousarray(inputs, dtype=np.float32)}
        for _ in range(runs):
            runner.run(None, feed)
        events = json.loads(Path(runner.end_profiling()).read_text())
    kernels = pd.DataFrame([(e["args"]["op_name"], e["dur"]) for e in events
                            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")], columns=["op", "us"])
    table = kernels.groupby("op")["us"].agg(["sum", "count"]).sort_values("sum", ascending=False)
    result = pd.DataFrame({"ms per run": table["sum"] / runs / 1e3, "share": table["sum"] / table["sum"].sum(),
                           "kernels per run": table["count"] / runs})
    result["integer"] = [op.startswith(("QLinear", "QGemm", "ConvInteger", "MatMulInteger", "DynamicQuantize"))
                         for op in result.index]
    return result


def ncnn_runner(param: str | Path, bin_file: str | Path, inputs: np.ndarray, threads: int) -> Callable[[], object]:
    """A zero-argument call running an ncnn model on ``inputs`` (N, C, H, W), image by image (ncnn has no batch).

    ncnn's default options, as a deployment gets them (fp16 storage and arithmetic where the CPU has them, light
    mode), with ``threads`` threads; the first input blob is fed and every output blob extracted.
    """
    import ncnn

    from fasutils.ncnn_format import NcnnFormatError

    net = ncnn.Net()
    net.opt.num_threads = threads
    if net.load_param(str(param)) or net.load_model(str(bin_file)):
        raise NcnnFormatError(f"ncnn cannot load {param} / {bin_file}")
    input_name, output_names = net.input_names()[0], net.output_names()
    images = np.ascontiguousarray(inputs, dtype=np.float32)
    pairs = [(image, ncnn.Mat(image)) for image in images]  # a Mat borrows its array's buffer: keep both

    def run() -> list[list[object]]:
        outputs = []
        for _, mat in pairs:
            extractor = net.create_extractor()
            extractor.input(input_name, mat)
            outputs.append([extractor.extract(name)[1] for name in output_names])
        return outputs

    return run


def yunet_runner(model: str | Path, images_rgb: np.ndarray, threads: int) -> Callable[[], object]:
    """A zero-argument call running YuNet through ``cv2.FaceDetectorYN`` (:class:`~fasutils.face_detection.YuNet`)
    on RGB uint8 images (N, H, W, 3), one at a time: network, decoding and NMS, on ``threads`` OpenCV threads."""
    import cv2

    from fasutils.face_detection import YuNet

    detector = YuNet(model)

    def run() -> list[list[Face]]:
        cv2.setNumThreads(threads)  # process-wide in OpenCV: set before every call
        return [detector.detect(image) for image in images_rgb]

    return run


def onnx_arithmetic(path: str | Path, input_size: tuple[int, int]) -> tuple[int, int]:
    """(weights, MACs per image) of the convolutions and matrix products of an ONNX model on one (3, H, W) input.

    The graph runs once at batch 1 with each product's output exposed, so the shapes are onnxruntime's own
    (dynamic reshapes and quantized or contrib operators included): FP32 and INT8 files of one network give the
    same counts. Biases, normalisations and activation slopes are not counted.
    """
    import onnx
    import onnxruntime as ort

    graph = load_onnx(path)
    weights = {tensor.name: tuple(tensor.dims) for tensor in graph.graph.initializer}
    products = [(node, weights[node.input[PRODUCT_OPS[node.op_type]]]) for node in graph.graph.node
                if node.op_type in PRODUCT_OPS and node.input[PRODUCT_OPS[node.op_type]] in weights]
    graph.graph.output.extend(onnx.ValueInfoProto(name=node.output[0]) for node, _ in products)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every product node
    runner = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    image = np.zeros((1, 3, *input_size), np.float32)  # (1, 3, H, W)
    outputs = runner.run([node.output[0] for node, _ in products], {runner.get_inputs()[0].name: image})
    macs = 0
    for (node, shape), output in zip(products, outputs):
        transposed = any(a.name == "transB" and a.i for a in node.attribute)
        reduced = math.prod(shape[1:]) if "Conv" in node.op_type else shape[1 if transposed else 0]
        macs += output.size * reduced  # each output value sums `reduced` products
    return sum(math.prod(shape) for _, shape in products), macs


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
            raise ValueError(f"runtime must be one of {', '.join(RUNTIME_MODULES)}, not {self.runtime!r}")

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


def describe(models: Sequence[BenchModel], memory: bool = True, progress: bool = True) -> pd.DataFrame:
    """One row of :meth:`BenchModel.facts` per model, indexed by name."""
    rows = {m.name: m.facts(memory) for m in tqdm(models, desc="model facts", disable=not progress, leave=False)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def machine_description() -> dict[str, str]:
    """:func:`~fasutils.runtime.environment_rows`, ncnn's version, the CPU's vector and matrix extensions that
    decide INT8 and FP16 speed, and the load average (other users' work) when it is called."""
    from importlib.metadata import version

    from fasutils.runtime import environment_rows

    cpuinfo = Path("/proc/cpuinfo")
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("flags")), []) if cpuinfo.exists() else []
    return {**dict(environment_rows()), "ncnn": version("ncnn"),
            "cpu extensions": " ".join(f for f in ISA_FLAGS if f in flags) or "unknown",
            "load average 1/5/15 min": " ".join(f"{v:.2f}" for v in os.getloadavg())}


@dataclass(frozen=True)
class BenchmarkResult:
    """What :func:`run_benchmark` measured; :meth:`write` saves it."""

    models: pd.DataFrame  # one row per model (index): BenchModel.facts
    table: pd.DataFrame  # one row per model, threads, batch: percentiles, images/s, GFLOP/s, baseline, paired ratio
    samples: pd.DataFrame  # every timed call: model, threads, batch, round, ms
    machine: dict[str, str]  # machine_description() before the first pass
    settings: dict[str, object]  # run_benchmark's arguments and the load average after the last pass

    def write(self, folder: str | Path) -> list[Path]:
        """``models.csv``, ``latency.csv``, ``samples.csv`` and all of it in ``benchmark.json``, written atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        everything = {"machine": self.machine, "settings": self.settings,
                      "models": json.loads(self.models.reset_index().to_json(orient="records")),
                      "latency": json.loads(self.table.to_json(orient="records"))}
        return [atomic_write_text(folder / "models.csv", self.models.to_csv()),
                atomic_write_text(folder / "latency.csv", self.table.to_csv(index=False)),
                atomic_write_text(folder / "samples.csv", self.samples.to_csv(index=False)),
                atomic_write_text(folder / "benchmark.json", json.dumps(everything, indent=1, ensure_ascii=False))]


def _timed_pass(models: Sequence[BenchModel], threads: int, batch: int, baselines: Mapping[str, str],
                rounds: int, per_round: int, warmup: int, progress: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One interleaved pass over the models timed at ``batch``: (samples, table with each model's paired ratio)."""
    runners = {m.name: m.runner(batch, threads) for m in models if batch in m.batches}
    samples = interleaved_latency(runners, rounds=rounds, per_round=math.ceil(per_round / batch),
                                  warmup=math.ceil(warmup / batch), progress=progress)
    bases = {m.name: baselines.get(m.task) for m in models if m.name in runners}
    bases = {name: base if base in runners else None for name, base in bases.items()}  # None: not timed here
    ratios = {base: paired_ratios(samples, base) for base in set(bases.values()) - {None}}
    table = latency_table(samples, batch=batch)
    table["baseline"] = pd.Series(bases)
    table[RATIO] = pd.Series({name: ratios[base][name] if base else math.nan for name, base in bases.items()})
    return samples.assign(threads=threads, batch=batch), table.assign(threads=threads, batch=batch)


def run_benchmark(models: Sequence[BenchModel], *, threads: Sequence[int] = (1, 2),
                  batches: Sequence[int] = CLASSIFIER_BATCHES, baselines: Mapping[str, str] = SUITE_BASELINES,
                  rounds: int = 10, per_round: int = 48, warmup: int = 16, memory: bool = True,
                  progress: bool = True) -> BenchmarkResult:
    """Every model at every thread count and at each of ``batches`` it allows, one interleaved pass per setting.

    ``per_round`` and ``warmup`` count images: at batch 8, 32 images are 4 calls. ``baselines`` maps a task to
    the model its ratios refer to (a pass without that model leaves them empty). GFLOP/s = 2 x MACs x batch /
    p50. Facts and memory are measured first, each model's memory in its own child process.
    """
    if not models:
        raise ValueError("no models to benchmark")
    machine = machine_description()
    facts = describe(models, memory, progress)
    passes = [_timed_pass(models, t, b, baselines, rounds, per_round, warmup, progress)
              for t in threads for b in batches if any(b in m.batches for m in models)]
    samples = pd.concat([s for s, _ in passes], ignore_index=True)[["model", "threads", "batch", "round", "ms"]]
    table = pd.concat([t for _, t in passes]).rename_axis("model").reset_index()
    table["GFLOP/s"] = 2 * table["model"].map(facts["MACs"]) * table["batch"] / (table["p50 ms"] * 1e6)
    table = table[["model", "threads", "batch", "p50 ms", "p90 ms", "p99 ms", "images/s", "GFLOP/s", "baseline", RATIO]]
    settings = {"threads": list(threads), "batches": list(batches), "baselines": dict(baselines), "rounds": rounds,
                "per_round_images": per_round, "warmup_images": warmup,
                "load average after": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    return BenchmarkResult(facts, table, samples, machine, settings)


def summary(result: BenchmarkResult) -> pd.DataFrame:
    """One row per model: size, memory, MMACs, p50 and paired ratio at batch 1 per thread count, images/s at the
    largest batch per thread count, GFLOP/s at batch 1 on the fewest threads."""
    table = result.table
    single, largest = table[table["batch"] == 1], table[table["batch"] == table["batch"].max()]
    wide = single.pivot(index="model", columns="threads", values=["p50 ms", RATIO])
    wide.columns = [f"{value} {threads}T" for value, threads in wide.columns]
    throughput = largest.pivot(index="model", columns="threads", values="images/s")
    throughput.columns = [f"img/s b{largest['batch'].max()} {threads}T" for threads in throughput.columns]
    fewest = single[single["threads"] == single["threads"].min()].set_index("model")["GFLOP/s"]
    facts = result.models[["task", "input", "size MB", "peak RSS MB"]].assign(MMACs=result.models["MACs"] / 1e6)
    return facts.join([wide, throughput, fewest.rename(f"GFLOP/s {single['threads'].min()}T")])


SUITE = (  # name, task, runtime, files (asset names, or "ours:" and what _SuiteFiles makes), (height, width), note
    ("ours 80 FP32", "classifier", "onnxruntime", ("ours:80 FP32",), (80, 80), "our export of the shipped model"),
    ("ours 80 INT8", "classifier", "onnxruntime", ("ours:80 INT8",), (80, 80),
     "static INT8 (QOperator) of the row above"),
    ("ours 128 FP32 (hairymax weights)", "classifier", "onnxruntime", ("ours:128 FP32",), (128, 128),
     "our export of hairymax's bin 1.5 weights, loaded by our code"),
    ("ours 128 INT8 (hairymax weights)", "classifier", "onnxruntime", ("ours:128 INT8",), (128, 128),
     "static INT8 (QOperator) of the row above"),
    ("hairymax 128 FP32", "classifier", "onnxruntime", ("hairymax/bin-1.5-128.onnx",), (128, 128),
     "published file, batch fixed to 1 (a batch runs image by image)"),
    ("johnraivenolazo 128 FP32", "classifier", "onnxruntime", ("johnraivenolazo/best-98.20.onnx",), (128, 128),
     "published file"),
    ("johnraivenolazo 128 INT8 (dynamic)", "classifier", "onnxruntime",
     ("johnraivenolazo/best-98.20-int8-dynamic.onnx",), (128, 128), "published file, dynamic INT8"),
    ("YOLOv7-lite 640 ORT", "detector", "onnxruntime", ("ours:yolov7-lite",), (640, 640),
     "our ONNX export of the published weights, network only"),
    ("YOLOv7-lite 512x288 ORT", "detector", "onnxruntime", ("ours:yolov7-lite",), NCNN_INPUT_SIZE,
     "the same export, network only"),
    ("YOLOv7-lite 512x288 ncnn", "detector", "ncnn", PUBLISHED_NCNN, NCNN_INPUT_SIZE, "the published ncnn file, network only (counted in our export)"),
    ("YuNet 640 OpenCV", "detector", "opencv", ("yunet/detector.onnx",), (640, 640),
     "cv2.FaceDetectorYN: network, decoding and NMS"),
    ("YuNet 640 ORT", "detector", "onnxruntime", ("yunet/detector.onnx",), (640, 640), "the same file, network only"),
)


class _SuiteFiles:
    """The files of :data:`SUITE`: registered assets, and ours ("ours:80 FP32", "ours:128 INT8",
    "ours:yolov7-lite"), each made in ``folder`` on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.made = folder, {}

    def __call__(self, source: str) -> Path:
        from fasutils import assets

        if not source.startswith("ours:"):
            return assets.path(source)
        if source not in self.made:
            what = source.removeprefix("ours:")
            self.made[source] = self._detector() if what == "yolov7-lite" else self._classifier(*what.split())
        return self.made[source]

    def _classifier(self, size: str, precision: str) -> Path:
        """Our MiniFASNetV2SE: 80 is the shipped model, 128 hairymax's weights; INT8 by "static-qoperator"."""
        from fasutils import published_models
        from fasutils.conventions import HAIRYMAX_BINARY
        from fasutils.onnx_export import export_onnx, read_convention
        from fasutils.paths import shipped_model
        from fasutils.quantization import calibration_inputs, quantize
        from fasutils.training import load_for_inference

        path = self.folder / f"ours-{size}-{precision.lower()}.onnx"
        if precision == "INT8":
            fp32 = self(f"ours:{size} FP32")
            calibration = calibration_inputs(_training_records(), read_convention(fp32), count=128)
            return quantize(fp32, path, "static-qoperator", calibration)
        model, convention = (load_for_inference(shipped_model()) if size == "80" else
                             (published_models.load("hairymax bin 1.5").model, HAIRYMAX_BINARY))
        return export_onnx(model, path, convention)

    def _detector(self) -> Path:
        """Our ONNX export (free input size) of YOLOv7-lite-e with the published ncnn weights."""
        from fasutils import yolov7_lite

        return yolov7_lite.export_onnx(yolov7_lite.load_published(), self.folder / "yolov7-lite-e.onnx")


def _training_records() -> list:
    """The training split of notebook 00's QUICK build (built here if missing): INT8 calibration data."""
    from fasutils.synthetic_dataset import DatasetSpec, build_dataset

    return [r for r in build_dataset(DatasetSpec.for_mode(True)).report.records if r.split == "train"]


def suite_models(folder: str | Path, patterns: Sequence[str] = ()) -> list[BenchModel]:
    """The models of :data:`SUITE`, or those whose name contains one of ``patterns`` (case-insensitive).

    Our files are made in ``folder``, only those the chosen models need: ONNX exports of the shipped 80x80
    model, of hairymax's 128x128 weights loaded by our code and of YOLOv7-lite-e; static INT8 copies of the two
    classifiers (recipe "static-qoperator", calibrated on 128 crops of the training split of notebook 00's QUICK
    build). The ncnn model's weights and MACs are counted in our export of the same network.
    """
    unmatched = [p for p in patterns if not any(p.lower() in row[0].lower() for row in SUITE)]
    if unmatched:
        raise FasError(f"no benchmark model matches {', '.join(map(repr, unmatched))}; the models are: "
                       f"{', '.join(row[0] for row in SUITE)}")
    files_of = _SuiteFiles(Path(folder))
    return [BenchModel(name, task, runtime, tuple(map(files_of, files)), size,
                       CLASSIFIER_BATCHES if task == "classifier" else (1,),
                       files_of("ours:yolov7-lite") if runtime == "ncnn" else None, note)
            for name, task, runtime, files, size, note in SUITE
            if not patterns or any(p.lower() in name.lower() for p in patterns)]


def suite_pipelines(models: Sequence[BenchModel], threads: int) -> dict[str, Pipeline]:
    """Detect + crop + classify (:class:`~fasutils.pipeline.Pipeline`) with the files of :func:`suite_models`:
    our INT8 80x80 classifier after YOLOv7-lite at 640 and at 512x288 and after YuNet (at each photo's own size,
    as the suite runs it), and johnraivenolazo's FP32 classifier after YOLOv7-lite at 512x288."""
    import cv2

    from fasutils.classifiers import onnx_classifier
    from fasutils.conventions import JOHNRAIVENOLAZO
    from fasutils.face_detection import YuNet
    from fasutils.pipeline import Pipeline

    files = {m.name: m.files[0] for m in models}
    ours = onnx_classifier(files["ours 80 INT8"], threads)
    theirs = onnx_classifier(files["johnraivenolazo 128 FP32"], threads, JOHNRAIVENOLAZO)
    yolo = {size: YoloV7LiteOnnx(files["YOLOv7-lite 640 ORT"], size, threads) for size in ((640, 640), NCNN_INPUT_SIZE)}
    cv2.setNumThreads(threads)  # YuNet's threads: an OpenCV setting for the whole process
    return {"YOLOv7-lite 640 + ours 80 INT8": Pipeline(yolo[640, 640], [ours], "yolov7-lite 640"),
            "YOLOv7-lite 512x288 + ours 80 INT8": Pipeline(yolo[NCNN_INPUT_SIZE], [ours], "yolov7-lite 512x288"),
            "YuNet + ours 80 INT8": Pipeline(YuNet(), [ours], "yunet"),
            "YOLOv7-lite 512x288 + johnraivenolazo 128 FP32": Pipeline(yolo[NCNN_INPUT_SIZE], [theirs],
                                                                       "yolov7-lite 512x288")}


def _faces_found(pipeline: Pipeline, photos: Sequence[np.ndarray]) -> int:
    return sum(len({record.face for record in pipeline.predict_image(photo)}) for photo in photos)


def pipeline_fps(pipelines: Mapping[str, Pipeline], photos: Sequence[np.ndarray], *, rounds: int = 3,
                 baseline: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Frames per second of each pipeline on RGB ``photos``, interleaved (one timed call = every photo once):
    ms per frame and frames/s of the median call, faces found per call, and the paired ratio to ``baseline``."""
    runners = {name: partial(_faces_found, pipeline, photos) for name, pipeline in pipelines.items()}
    samples = interleaved_latency(runners, rounds=rounds, per_round=1, warmup=1, progress=progress)
    table = latency_table(samples, baseline, batch=len(photos)).rename(columns={"images/s": "frames/s"})
    table.insert(0, "ms per frame", table["p50 ms"] / len(photos))
    table["faces"] = [runners[name]() for name in table.index]
    return table.drop(columns=["p50 ms", "p90 ms", "p99 ms"])

"""The suite's benchmark: every model timed alike, its facts beside its speed, and whole pipelines in frames/s.

:func:`run_benchmark` times a list of :class:`~fasutils.benchmark.facts.BenchModel` (onnxruntime, ncnn or
OpenCV's YuNet) at several thread counts and batch sizes, one interleaved pass per setting
(:mod:`fasutils.benchmark.timing`), and records each model's file size, weights, MACs, achieved GFLOP/s and peak
resident memory (:mod:`fasutils.benchmark.facts`) in a :class:`BenchmarkResult`; :func:`summary` makes one row per
model of it. :data:`SUITE` / :func:`suite_models` are the suite's comparison (ours FP32/INT8, the published files,
the detectors); :func:`suite_pipelines` and :func:`pipeline_fps` time detect + crop + classify on photos.
Introduced in ``06_benchmarking.ipynb``; ``python -m fasutils bench`` runs it from the command line.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fasutils.benchmark.facts import BenchModel, describe, machine_description
from fasutils.benchmark.timing import (
    RATIO,
    interleaved_latency,
    latency_table,
    paired_ratios,
)
from fasutils.core.errors import BenchmarkError
from fasutils.core.files import atomic_write_text
from fasutils.detection.boxes import NCNN_INPUT_SIZE
from fasutils.detection.detectors import YoloV7Lite
from fasutils.detection.yolov7 import PUBLISHED_NCNN

if TYPE_CHECKING:
    from fasutils.detection.pipeline import Pipeline

CLASSIFIER_BATCHES = (1, 8, 32)
SUITE_BASELINES = {"classifier": "johnraivenolazo 128 FP32", "detector": "YuNet 640 OpenCV"}


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
        raise BenchmarkError("no models to benchmark")
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
    ("YOLOv7-lite 512x288 ncnn", "detector", "ncnn", PUBLISHED_NCNN, NCNN_INPUT_SIZE,
     "the published ncnn file, network only (counted in our export)"),
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
        from fasutils.core import assets

        if not source.startswith("ours:"):
            return assets.path(source)
        if source not in self.made:
            what = source.removeprefix("ours:")
            self.made[source] = self._detector() if what == "yolov7-lite" else self._classifier(*what.split())
        return self.made[source]

    def _classifier(self, size: str, precision: str) -> Path:
        """Our MiniFASNetV2SE: 80 is the shipped model, 128 hairymax's weights; INT8 by "static-qoperator"."""
        from fasutils.core.paths import shipped_model
        from fasutils.data.input_convention import HAIRYMAX_BINARY
        from fasutils.export.onnx_export import export_onnx, read_convention
        from fasutils.export.quantization import calibration_inputs, quantize
        from fasutils.models import published as published_models
        from fasutils.training.checkpoints import load_for_inference

        path = self.folder / f"ours-{size}-{precision.lower()}.onnx"
        if precision == "INT8":
            fp32 = self(f"ours:{size} FP32")
            calibration = calibration_inputs(quick_training_records(), read_convention(fp32), count=128)
            return quantize(fp32, path, "static-qoperator", calibration)
        model, convention = (load_for_inference(shipped_model()) if size == "80" else
                             (published_models.load("hairymax bin 1.5").model, HAIRYMAX_BINARY))
        return export_onnx(model, path, convention)

    def _detector(self) -> Path:
        """Our ONNX export (free input size) of YOLOv7-lite-e with the published ncnn weights."""
        from fasutils.detection import yolov7

        return yolov7.export_detector_onnx(yolov7.load_published(), self.folder / "yolov7-lite-e.onnx")


def quick_training_records() -> list:
    """The training split of notebook 00's QUICK build (built here if missing): INT8 calibration data."""
    from fasutils.detection.yunet import YuNet
    from fasutils.simulation.dataset import DatasetSpec, build_dataset

    return [r for r in build_dataset(DatasetSpec.for_mode(True), YuNet()).report.records if r.split == "train"]


def suite_models(folder: str | Path, patterns: Sequence[str] = ()) -> list[BenchModel]:
    """The models of :data:`SUITE`, or those whose name contains one of ``patterns`` (case-insensitive).

    Our files are made in ``folder``, only those the chosen models need: ONNX exports of the shipped 80x80
    model, of hairymax's 128x128 weights loaded by our code and of YOLOv7-lite-e; static INT8 copies of the two
    classifiers (recipe "static-qoperator", calibrated on 128 crops of the training split of notebook 00's QUICK
    build). The ncnn model's weights and MACs are counted in our export of the same network.
    """
    unmatched = [p for p in patterns if not any(p.lower() in row[0].lower() for row in SUITE)]
    if unmatched:
        raise BenchmarkError(f"no benchmark model matches {', '.join(map(repr, unmatched))}; the models are: "
                             f"{', '.join(row[0] for row in SUITE)}")
    files_of = _SuiteFiles(Path(folder))
    return [BenchModel(name, task, runtime, tuple(map(files_of, files)), size,
                       CLASSIFIER_BATCHES if task == "classifier" else (1,),
                       files_of("ours:yolov7-lite") if runtime == "ncnn" else None, note)
            for name, task, runtime, files, size, note in SUITE
            if not patterns or any(p.lower() in name.lower() for p in patterns)]


def suite_pipelines(models: Sequence[BenchModel], threads: int) -> dict[str, Pipeline]:
    """Detect + crop + classify (:class:`~fasutils.detection.pipeline.Pipeline`) with the files of :func:`suite_models`:
    our INT8 80x80 classifier after YOLOv7-lite at 640 and at 512x288 and after YuNet (at each photo's own size,
    as the suite runs it), and johnraivenolazo's FP32 classifier after YOLOv7-lite at 512x288."""
    import cv2

    from fasutils.data.input_convention import JOHNRAIVENOLAZO
    from fasutils.detection.pipeline import Pipeline
    from fasutils.detection.yunet import YuNet
    from fasutils.export.classifiers import onnx_classifier

    files = {m.name: m.files[0] for m in models}
    ours = onnx_classifier(files["ours 80 INT8"], threads)
    theirs = onnx_classifier(files["johnraivenolazo 128 FP32"], threads, JOHNRAIVENOLAZO)
    yolo = {size: YoloV7Lite(files["YOLOv7-lite 640 ORT"], size, threads=threads)
            for size in ((640, 640), NCNN_INPUT_SIZE)}
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

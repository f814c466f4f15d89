"""The models a benchmark times, as zero-argument calls: an ONNX file in onnxruntime, an ncnn model image by
image, YuNet through ``cv2.FaceDetectorYN``; and onnxruntime's profile of where the time goes, by operator type.

Each runner does its set-up (session, feeds, ncnn ``Mat``s) when it is made, so a timed call is the model's run
alone. Every onnxruntime session comes from :func:`fasutils.export.sessions.session`. Introduced in
``04_onnx_int8_export.ipynb`` (onnxruntime); ``06_benchmarking.ipynb`` adds ncnn and OpenCV.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fasutils.core.errors import DetectionError
from fasutils.export.onnx_export import load_onnx
from fasutils.export.sessions import batch_feeds, session

if TYPE_CHECKING:
    from fasutils.data.faces import Face

# the modules each runtime imports: a memory measurement imports them before its baseline
RUNTIME_MODULES = {"onnxruntime": ("onnxruntime",), "ncnn": ("ncnn",), "opencv": ("cv2", "fasutils.detection.yunet")}


def onnx_runner(path: str | Path, inputs: np.ndarray, threads: int, optimization: str = "all") -> Callable[[], object]:
    """A zero-argument call running the ONNX model at ``path`` once on ``inputs`` (its session built now).

    A file whose batch is fixed to 1 (e.g. hairymax's exports) runs the batch image by image, as its users must.
    """
    runner = session(path, threads=threads, optimization=optimization)
    feeds = batch_feeds(runner, inputs)
    if len(feeds) > 1:
        return lambda: [runner.run(None, feed) for feed in feeds]
    feed = feeds[0]
    return lambda: runner.run(None, feed)


def profile_ops(path: str | Path, inputs: np.ndarray, *, threads: int = 1, runs: int = 100) -> pd.DataFrame:
    """onnxruntime's profiler over ``runs`` calls: time per run by operator type, after graph optimisation.

    Columns: ms per run, share of the total, kernels per run, and whether the kernel computes in integers.
    """
    load_onnx(path)  # a clear error for a file that is not ONNX
    with tempfile.TemporaryDirectory() as scratch:
        runner = session(path, threads, "all", profile_prefix=os.path.join(scratch, "profile"))
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

    net = ncnn.Net()
    net.opt.num_threads = threads
    if net.load_param(str(param)) or net.load_model(str(bin_file)):
        raise DetectionError(f"ncnn cannot load {param} / {bin_file}")
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
    """A zero-argument call running YuNet through ``cv2.FaceDetectorYN`` (:class:`~fasutils.detection.yunet.YuNet`)
    on RGB uint8 images (N, H, W, 3), one at a time: network, decoding and NMS, on ``threads`` OpenCV threads."""
    import cv2

    from fasutils.detection.yunet import YuNet

    detector = YuNet(model)

    def run() -> list[list[Face]]:
        cv2.setNumThreads(threads)  # process-wide in OpenCV: set before every call
        return [detector.detect(image) for image in images_rgb]

    return run

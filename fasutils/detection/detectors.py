"""One face-detector interface: :class:`YoloV7Lite` on either backend, and :func:`load_detector` by name.

:class:`YoloV7Lite` letterboxes an RGB image (:mod:`fasutils.detection.boxes`), runs the network — our PyTorch
module (:mod:`fasutils.detection.yolov7`) or onnxruntime on an ONNX export of it — and decodes the raw maps
(:mod:`fasutils.detection.decoding`) into the same :class:`~fasutils.data.faces.Face` objects as
:class:`~fasutils.detection.yunet.YuNet`. Importing this module needs neither torch nor onnxruntime: each backend
imports its runtime when it is built. Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fasutils.core.errors import DetectionError
from fasutils.data.faces import Face, FaceDetector
from fasutils.detection.boxes import NCNN_INPUT_SIZE, Letterbox, letterbox, to_input
from fasutils.detection.decoding import postprocess
from fasutils.detection.yolov7_config import CONFIGS
from fasutils.detection.yunet import YuNet

if TYPE_CHECKING:
    from fasutils.detection.yolov7 import YoloV7LiteNet

DETECTORS = ("yolov7-lite", "yunet")
Backend = Callable[[np.ndarray], list[np.ndarray]]  # (1, 3, H, W) float32 -> [(63, H/s, W/s) per stride]


def torch_backend(model: YoloV7LiteNet) -> Backend:
    """Run our PyTorch network (in eval mode, without gradients)."""
    import torch

    model.eval()

    def run(inputs: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            return [output[0].numpy() for output in model(torch.from_numpy(inputs))]

    return run


def onnx_backend(path: str | Path, threads: int | None = None) -> Backend:
    """Run an ONNX export (:func:`~fasutils.detection.yolov7.export_detector_onnx`) with onnxruntime."""
    from fasutils.export.sessions import session

    runner = session(path, threads)
    name = runner.get_inputs()[0].name

    def run(inputs: np.ndarray) -> list[np.ndarray]:
        return [output[0] for output in runner.run(None, {name: inputs})]

    return run


class YoloV7Lite:
    """A YOLOv7-lite face detector.

    ``model``: ``None`` (our network with the published lite-e-0.5 weights, read from the registered ncnn files
    at run time), a :class:`~fasutils.detection.yolov7.YoloV7LiteNet`, or the path of its ONNX export, run by
    onnxruntime with ``threads`` threads (``config`` names its :data:`CONFIGS` entry). ``input_size`` (height,
    width, multiples of 32) is free; the default is the 288 x 512 the published ncnn file was exported for. Larger
    inputs find smaller faces, at a cost of about (H x W) in time. Faces narrower or shorter than ``min_face``
    image pixels are dropped.
    """

    def __init__(self, model: YoloV7LiteNet | str | Path | None = None, input_size: tuple[int, int] = NCNN_INPUT_SIZE,
                 score_threshold: float = 0.5, nms_threshold: float = 0.45, min_face: float = 0.0, *,
                 threads: int | None = None, config: str = "lite-e-0.5") -> None:
        if len(input_size) != 2 or any(int(n) != n or n < 32 or n % 32 for n in input_size):
            raise DetectionError(f"input_size (height, width) must be multiples of 32, not {input_size}")
        if isinstance(model, (str, Path)):
            if config not in CONFIGS:
                raise DetectionError(f"unknown YOLOv7-lite config {config!r}; choose one of {', '.join(CONFIGS)}")
            self.model, self.config, self.backend = None, CONFIGS[config], "onnxruntime"
            self._run = onnx_backend(model, threads)
        else:
            if model is None:
                from fasutils.detection.yolov7 import load_published

                model = load_published()
            self.model, self.config, self.backend = model.eval(), model.config, "torch"
            self._run = torch_backend(model)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.score_threshold, self.nms_threshold, self.min_face = score_threshold, nms_threshold, min_face

    def raw_outputs(self, image_rgb: np.ndarray) -> tuple[list[np.ndarray], Letterbox]:
        """The network's raw maps [(63, H/s, W/s) per stride] for one RGB uint8 image, and its letterbox."""
        if not (isinstance(image_rgb, np.ndarray) and image_rgb.ndim == 3 and image_rgb.shape[2] == 3
                and image_rgb.dtype == np.uint8):
            kind = f"{image_rgb.dtype} {image_rgb.shape}" if isinstance(image_rgb, np.ndarray) else type(image_rgb)
            raise DetectionError(f"expected an RGB uint8 image (H, W, 3), got {kind}")
        canvas, placement = letterbox(image_rgb, self.input_size)
        return self._run(to_input(canvas)), placement

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        """All faces in an RGB uint8 image, highest score first (empty when there is none)."""
        outputs, placement = self.raw_outputs(image_rgb)
        return postprocess(outputs, self.config, placement, image_rgb.shape[:2], self.score_threshold,
                           self.nms_threshold, self.min_face)


def load_detector(name: str = "yolov7-lite") -> FaceDetector:
    """A face detector with its default settings: "yolov7-lite" (published lite-e-0.5 weights) or "yunet"."""
    if name not in DETECTORS:
        raise DetectionError(f"unknown detector {name!r}: choose one of {', '.join(DETECTORS)}")
    return YoloV7Lite() if name == "yolov7-lite" else YuNet()

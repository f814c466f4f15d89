"""Faces from a YOLOv7-lite network: letterbox, decoding of the raw head maps, NMS and mapping back.

The steps follow the published YOLOv7-face pipeline (``../shared/notes/field-facts.md`` §6.2, §6.5):

1. :func:`letterbox`: resize keeping the aspect ratio (bilinear, as in training), centre on a grey (114)
   canvas of the network size; :func:`to_input` makes it RGB (N, 3, H, W) float32 in [0, 1]. The network wants
   **RGB** (the ncnn C++ demo feeds BGR and loses about 60 % of the faces).
2. :func:`decode`: each level's (63, h, w) map is read as 3 anchors x 21 values. Box centre
   ``(sigmoid * 2 - 0.5 + cell) * stride``, size ``(sigmoid * 2)^2 * anchor``; score ``sigmoid(objectness) *
   sigmoid(class)``; landmarks ``(raw * 2 - 0.5 + cell) * stride``, **without** a sigmoid.
3. :func:`postprocess`: keep scores above the threshold, NMS (``cv2.dnn.NMSBoxes``), undo the letterbox,
   clip to the image, drop faces narrower or shorter than ``min_face`` pixels.

:class:`YoloV7Lite` runs the three with our PyTorch network (:mod:`fasutils.detection.yolov7`) and returns the
same :class:`~fasutils.data.faces.Face` objects as :class:`~fasutils.detection.yunet.YuNet`;
:class:`YoloV7LiteOnnx` the same through onnxruntime. Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fasutils.core.errors import DetectionError
from fasutils.data.faces import Face, FaceDetector
from fasutils.detection.boxes import NCNN_INPUT_SIZE, Letterbox, letterbox, to_input
from fasutils.detection.decoding import postprocess
from fasutils.detection.yolov7 import CONFIGS, YoloV7LiteNet, load_published
from fasutils.export.sessions import session


class YoloV7Lite:
    """A YOLOv7-lite face detector on our PyTorch network; by default the published lite-e-0.5 weights, read
    from the registered ncnn files (``yolov7face/lite-e-fp16.param`` / ``.bin``) at run time.

    ``input_size`` (height, width, multiples of 32) is free; the default is the 288 x 512 the published ncnn file
    was exported for. Larger inputs find smaller faces, at a cost of about (H x W) in time.
    """

    def __init__(self, model: YoloV7LiteNet | None = None, input_size: tuple[int, int] = NCNN_INPUT_SIZE,
                 score_threshold: float = 0.5, nms_threshold: float = 0.45, min_face: float = 0.0) -> None:
        if any(n % 32 for n in input_size):
            raise ValueError(f"input_size (height, width) must be multiples of 32, not {input_size}")
        if model is None:
            model = load_published()
        self.model = model.eval()
        self.input_size = tuple(input_size)
        self.score_threshold, self.nms_threshold, self.min_face = score_threshold, nms_threshold, min_face

    def raw_outputs(self, image_rgb: np.ndarray) -> tuple[list[np.ndarray], Letterbox]:
        """The network's raw maps [(63, H/s, W/s) per stride] for one RGB uint8 image, and its letterbox."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        canvas, placement = letterbox(image_rgb, self.input_size)
        with torch.no_grad():
            outputs = self.model(torch.from_numpy(to_input(canvas)))  # 3 x (1, 63, H/s, W/s)
        return [output[0].numpy() for output in outputs], placement

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        """All faces in an RGB uint8 image, highest score first (empty when there is none)."""
        outputs, placement = self.raw_outputs(image_rgb)
        return postprocess(outputs, self.model.config, placement, image_rgb.shape[:2], self.score_threshold,
                           self.nms_threshold, self.min_face)


class YoloV7LiteOnnx:
    """:class:`~fasutils.detection.detectors.YoloV7Lite`'s detection with the network run by onnxruntime from an ONNX export
    (:func:`fasutils.detection.yolov7.export_detector_onnx`): the same letterbox, decoding and NMS, any ``input_size``
    (height, width) in multiples of 32."""

    def __init__(self, path: str | Path, input_size: tuple[int, int] = NCNN_INPUT_SIZE, threads: int = 1,
                 score_threshold: float = 0.5, nms_threshold: float = 0.45, config: str = "lite-e-0.5") -> None:
        self.session, self.input_size, self.config = session(path, threads), tuple(input_size), CONFIGS[config]
        self.score_threshold, self.nms_threshold = score_threshold, nms_threshold

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        """All faces in an RGB uint8 image, highest score first."""
        canvas, placement = letterbox(image_rgb, self.input_size)
        outputs = self.session.run(None, {self.session.get_inputs()[0].name: to_input(canvas)})  # 3 x (1, 63, h, w)
        return postprocess([output[0] for output in outputs], self.config, placement, image_rgb.shape[:2],
                           self.score_threshold, self.nms_threshold)
DETECTORS = ("yolov7-lite", "yunet")


def load_detector(name: str = "yolov7-lite") -> FaceDetector:
    """A face detector with its default settings: "yolov7-lite" (published lite-e-0.5 weights) or "yunet"."""
    from fasutils.detection.detectors import YoloV7Lite
    from fasutils.detection.yunet import YuNet

    if name not in DETECTORS:
        raise DetectionError(f"unknown detector {name!r}: choose one of {', '.join(DETECTORS)}")
    return YoloV7Lite() if name == "yolov7-lite" else YuNet()

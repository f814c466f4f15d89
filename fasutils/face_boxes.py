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

:class:`YoloV7Lite` runs the three with our PyTorch network (:mod:`fasutils.yolov7_lite`) and returns the
same :class:`~fasutils.face_detection.Face` objects as :class:`~fasutils.face_detection.YuNet`;
:class:`YoloV7LiteOnnx` the same through onnxruntime. Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from fasutils.face_detection import Face
from fasutils.onnx_export import session
from fasutils.yolov7_lite import CONFIGS, YoloV7LiteConfig, YoloV7LiteNet, load_published

__all__ = ["PAD_VALUE", "NCNN_INPUT_SIZE", "Letterbox", "Detections", "letterbox", "to_input", "decode", "nms",
           "postprocess", "YoloV7Lite", "YoloV7LiteOnnx", "box_iou", "match_faces"]

PAD_VALUE = 114  # grey of the letterbox borders, as in training
NCNN_INPUT_SIZE = (288, 512)  # (height, width) the published ncnn file is fixed to


@dataclass(frozen=True)
class Letterbox:
    """Where an image sits in the network input: ``input = image * scale + (left, top)``."""

    scale: float
    left: int
    top: int

    def to_input(self, points: np.ndarray) -> np.ndarray:
        """Image (..., 2) x, y -> network-input pixels."""
        return points * self.scale + (self.left, self.top)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Network-input (..., 2) x, y -> image pixels."""
        return (points - (self.left, self.top)) / self.scale

    def boxes_to_input(self, boxes: np.ndarray) -> np.ndarray:
        """Image boxes (M, 4) x, y, w, h -> network-input boxes."""
        return np.concatenate([self.to_input(boxes[:, :2]), boxes[:, 2:] * self.scale], 1)

    def boxes_to_image(self, boxes: np.ndarray) -> np.ndarray:
        """Network-input boxes (M, 4) x, y, w, h -> image boxes."""
        return np.concatenate([self.to_image(boxes[:, :2]), boxes[:, 2:] / self.scale], 1)


@dataclass(frozen=True)
class Detections:
    """Candidate faces, one row each, in the pixels of whatever image they refer to."""

    boxes: np.ndarray  # (M, 4) x, y, w, h
    scores: np.ndarray  # (M,) sigmoid(objectness) * sigmoid(class)
    landmarks: np.ndarray  # (M, 5, 2) x, y in LANDMARK_NAMES order

    def __getitem__(self, index: np.ndarray | slice) -> Detections:
        return Detections(self.boxes[index], self.scores[index], self.landmarks[index])

    def __len__(self) -> int:
        return len(self.scores)


def letterbox(image_rgb: np.ndarray, size: tuple[int, int] = NCNN_INPUT_SIZE) -> tuple[np.ndarray, Letterbox]:
    """``image_rgb`` (H, W, 3) uint8 fitted into ``size`` (height, width): the canvas and where the image sits."""
    height, width = image_rgb.shape[:2]
    scale = min(size[0] / height, size[1] / width)
    new_w, new_h = round(width * scale), round(height * scale)
    left, top = (size[1] - new_w) // 2, (size[0] - new_h) // 2
    canvas = np.full((*size, 3), PAD_VALUE, np.uint8)
    canvas[top:top + new_h, left:left + new_w] = cv2.resize(image_rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return canvas, Letterbox(scale, left, top)


def to_input(canvas: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (1, 3, H, W) float32 in [0, 1], the network's input."""
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warnings for large |x|


def decode(outputs: Sequence[np.ndarray], config: YoloV7LiteConfig) -> Detections:
    """Every anchor of the raw maps of one image, [(63, h, w) per stride], as boxes in network-input pixels."""
    boxes, scores, landmarks = [], [], []
    k = config.num_keypoints
    for raw, anchors, stride in zip(outputs, config.anchors, config.strides):
        values = raw.reshape(len(anchors), config.values_per_anchor, *raw.shape[-2:])  # (3, 21, h, w)
        values = values.transpose(0, 2, 3, 1).reshape(-1, config.values_per_anchor)  # (3*h*w, 21): anchor, y, x
        ys, xs = np.mgrid[:raw.shape[-2], :raw.shape[-1]]
        cells = np.tile(np.stack([xs.ravel(), ys.ravel()], 1), (len(anchors), 1))  # (3*h*w, 2) x, y
        sizes = np.repeat(np.asarray(anchors, np.float32), xs.size, axis=0)  # (3*h*w, 2) w, h
        centres = (_sigmoid(values[:, 0:2]) * 2 - 0.5 + cells) * stride
        wh = (_sigmoid(values[:, 2:4]) * 2) ** 2 * sizes
        boxes.append(np.concatenate([centres - wh / 2, wh], 1))
        scores.append(_sigmoid(values[:, 4]) * _sigmoid(values[:, 5:5 + config.num_classes]).max(1))
        points = values[:, 5 + config.num_classes:].reshape(-1, k, 3)[..., :2]  # (3*h*w, 5, 2), visibility dropped
        landmarks.append((points * 2 - 0.5 + cells[:, None]) * stride)
    return Detections(np.concatenate(boxes).astype(np.float32), np.concatenate(scores).astype(np.float32),
                      np.concatenate(landmarks).astype(np.float32))


def nms(detections: Detections, score_threshold: float, nms_threshold: float) -> Detections:
    """Scores above ``score_threshold``, then greedy NMS at IoU ``nms_threshold``; best score first."""
    detections = detections[detections.scores > score_threshold]  # few rows left for NMSBoxes
    keep = cv2.dnn.NMSBoxes(detections.boxes.tolist(), detections.scores.tolist(), score_threshold, nms_threshold)
    return detections[np.asarray(keep, dtype=np.int64).reshape(-1)]


def postprocess(outputs: Sequence[np.ndarray], config: YoloV7LiteConfig, placement: Letterbox,
                image_size: tuple[int, int], score_threshold: float = 0.5, nms_threshold: float = 0.45,
                min_face: float = 0.0) -> list[Face]:
    """Faces in image pixels from the raw maps of one image [(63, h, w) per stride], best score first.

    ``image_size`` is the original (height, width); boxes are clipped to it. Faces whose box is narrower or
    shorter than ``min_face`` image pixels are dropped.
    """
    kept = nms(decode(outputs, config), score_threshold, nms_threshold)
    boxes = placement.boxes_to_image(kept.boxes)  # (M, 4) x, y, w, h
    limits = (image_size[1], image_size[0])
    top_left, bottom_right = np.clip(boxes[:, :2], 0, limits), np.clip(boxes[:, :2] + boxes[:, 2:], 0, limits)
    boxes = np.concatenate([top_left, bottom_right - top_left], 1)
    landmarks = placement.to_image(kept.landmarks).astype(np.float32)
    return [Face(tuple(float(v) for v in box), points, float(score))
            for box, points, score in zip(boxes, landmarks, kept.scores) if min(box[2], box[3]) >= min_face]


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
    """:class:`~fasutils.face_boxes.YoloV7Lite`'s detection with the network run by onnxruntime from an ONNX export
    (:func:`fasutils.yolov7_lite.export_onnx`): the same letterbox, decoding and NMS, any ``input_size``
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


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(width, 0) * max(height, 0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match_faces(first: Sequence[Face], second: Sequence[Face], min_iou: float = 0.5) -> list[tuple[int, int, float]]:
    """One-to-one pairs (i, j, IoU) of two detectors' faces with IoU >= ``min_iou``, greedily, best overlap first."""
    pairs = sorted(((box_iou(f.box, s.box), i, j) for i, f in enumerate(first) for j, s in enumerate(second)),
                   reverse=True)
    matched, used_first, used_second = [], set(), set()
    for value, i, j in pairs:
        if value >= min_iou and i not in used_first and j not in used_second:
            matched.append((i, j, value))
            used_first.add(i)
            used_second.add(j)
    return matched

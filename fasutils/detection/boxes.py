"""Model-agnostic box operations, in the spirit of ultralytics' ``utils/ops.py``: the letterbox that fits an image
into a network input and maps points back, candidate detections, NMS (``cv2.dnn.NMSBoxes``), IoU and one-to-one
matching of two detectors' faces.

The letterbox resizes keeping the aspect ratio (bilinear, as in training) and centres the image on a grey (114)
canvas; :func:`to_input` makes it RGB (N, 3, H, W) float32 in [0, 1]. YOLOv7-lite wants **RGB** (the ncnn C++
demo of derronqi/yolov7-face feeds BGR; measured here, that loses about 60 % of the faces).
Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fasutils.data.faces import Face

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


def nms(detections: Detections, score_threshold: float, nms_threshold: float) -> Detections:
    """Scores above ``score_threshold``, then greedy NMS at IoU ``nms_threshold``; best score first."""
    detections = detections[detections.scores > score_threshold]  # few rows left for NMSBoxes
    keep = cv2.dnn.NMSBoxes(detections.boxes.tolist(), detections.scores.tolist(), score_threshold, nms_threshold)
    return detections[np.asarray(keep, dtype=np.int64).reshape(-1)]


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

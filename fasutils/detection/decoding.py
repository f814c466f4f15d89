"""From YOLOv7-lite's raw head maps to faces, as the published YOLOv7-face pipeline does it
(derronqi/yolov7-face, ``models/yolo.py`` ``IKeypoint.forward`` and ``utils/general.py``):

1. :func:`decode`: each level's (63, h, w) map is read as 3 anchors x 21 values. Box centre
   ``(sigmoid * 2 - 0.5 + cell) * stride``, size ``(sigmoid * 2)^2 * anchor``; score ``sigmoid(objectness) *
   sigmoid(class)``; landmarks ``(raw * 2 - 0.5 + cell) * stride``, **without** a sigmoid.
2. :func:`postprocess`: keep scores above the threshold, NMS (:func:`~fasutils.detection.boxes.nms`), undo the
   letterbox, clip to the image, drop faces narrower or shorter than ``min_face`` pixels.

Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fasutils.data.faces import Face
from fasutils.detection.boxes import Detections, Letterbox, nms
from fasutils.detection.yolov7_config import YoloV7LiteConfig


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warnings for large |x|


def decode(outputs: Sequence[np.ndarray], config: YoloV7LiteConfig) -> Detections:
    """Every anchor of the raw maps of one image, [(63, h, w) per stride], as boxes in network-input pixels."""
    boxes, scores, landmarks = [], [], []
    k = config.num_keypoints
    for raw, anchors, stride in zip(outputs, config.anchors, config.strides, strict=True):
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
            for box, points, score in zip(boxes, landmarks, kept.scores, strict=True)
            if min(box[2], box[3]) >= min_face]

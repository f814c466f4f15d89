"""Where a face is in an image: :class:`Face` (box, five landmarks, score), and what a face detector provides.

The detectors of :mod:`fasutils.detection` (YuNet, YOLOv7-lite) return :class:`Face` records and fit
:class:`FaceDetector`; the live pool and the simulation take any such detector, and the simulation carries a face's
:func:`face_points` through every render. The record sits in the data layer so that they need no detector module.
Introduced in ``00_environment_and_data.ipynb``; ``05_yolov7_lite_detection.ipynb`` names the landmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "right_mouth", "left_mouth")  # YuNet's order, subject's view


@dataclass(frozen=True)
class Face:
    """One detected face in image pixels."""

    box: tuple[float, float, float, float]  # x, y, width, height
    landmarks: np.ndarray  # (5, 2) x, y in LANDMARK_NAMES order
    score: float

    @property
    def width(self) -> float:
        return self.box[2]

    @property
    def points(self) -> np.ndarray:
        """:func:`face_points` of this face: landmarks and box corners, (9, 2)."""
        return face_points(self.box, self.landmarks)


def face_points(box: tuple[float, float, float, float], landmarks: np.ndarray) -> np.ndarray:
    """(9, 2) float64: the 5 landmarks, then the box corners clockwise from top-left.

    The layout :func:`fasutils.simulation.attacks.simulate` carries through a render, so the face box and
    landmarks of the rendered image can be read back from its points.
    """
    x, y, w, h = box
    return np.vstack([landmarks, [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]]).astype(np.float64)


def largest_face(faces: Sequence[Face]) -> Face | None:
    """The widest of ``faces`` (the first on a tie), or None when there is none."""
    return max(faces, key=lambda face: face.width, default=None)


class FaceDetector(Protocol):
    """What the suite needs of a face detector: every face of an RGB uint8 image, best score first.

    :class:`fasutils.detection.YoloV7Lite` and :class:`fasutils.detection.YuNet` both fit.
    """

    def detect(self, image_rgb: np.ndarray) -> list[Face]: ...

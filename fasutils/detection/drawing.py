"""Faces drawn over pictures: boxes, the five landmarks in :data:`LANDMARK_RGB` and a label strip, coloured by the
decision (live green, spoof red, undecided amber). Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from fasutils.data.faces import Face
from fasutils.detection.results import FaceRecord

LIVE_RGB, SPOOF_RGB, FACE_RGB = (0, 170, 0), (220, 30, 30), (230, 160, 0)
LABEL_FONT = cv2.FONT_HERSHEY_SIMPLEX
LANDMARK_RGB = ((255, 64, 64), (64, 128, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255))  # LANDMARK_NAMES order


def _draw_face(image: np.ndarray, box: Sequence[float], landmarks: np.ndarray | Sequence[Sequence[float]],
               colour: tuple[int, int, int], label: str) -> None:
    """Draw one face on ``image`` in place: its box, landmark dots and ``label`` on a strip above the box."""
    thickness = max(1, round(max(image.shape[:2]) / 500))
    x, y, w, h = (round(v) for v in box)
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, thickness, cv2.LINE_AA)
    for (px, py), dot in zip(landmarks, LANDMARK_RGB, strict=True):
        cv2.circle(image, (round(px), round(py)), max(2, round(w / 40)), dot, -1, cv2.LINE_AA)
    scale = min(max(w / 160, 0.35), 1.5)
    (text_w, text_h), baseline = cv2.getTextSize(label, LABEL_FONT, scale, 1)
    left, top = max(min(x, image.shape[1] - text_w - 2), 0), max(y - text_h - baseline - 2, 0)  # kept inside
    cv2.rectangle(image, (left, top), (left + text_w + 2, top + text_h + baseline + 2), colour, -1)
    cv2.putText(image, label, (left + 1, top + text_h + 1), LABEL_FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def draw_faces(image_rgb: np.ndarray, faces: Sequence[Face], colour: tuple[int, int, int] = FACE_RGB) -> np.ndarray:
    """A copy of ``image_rgb`` with a detector's faces: box, landmarks (:data:`LANDMARK_RGB`) and score."""
    drawn = image_rgb.copy()
    for face in faces:
        _draw_face(drawn, face.box, face.landmarks, colour, f"{face.score:.2f}")
    return drawn


def draw_records(image_rgb: np.ndarray, records: Sequence[FaceRecord]) -> np.ndarray:
    """A copy of ``image_rgb`` with each face's box and landmarks, labelled with the first model's decision and
    every model's P(live) (``live 0.97/0.88``); green when the first model says live, red when it says spoof."""
    drawn = image_rgb.copy()
    by_face: dict[int, list[FaceRecord]] = {}
    for record in records:
        by_face.setdefault(record.face, []).append(record)
    for first, *others in by_face.values():
        label = " ".join([first.decision, "/".join(f"{r.p_live:.2f}" for r in (first, *others))])
        _draw_face(drawn, first.box, first.landmarks, LIVE_RGB if first.decision == "live" else SPOOF_RGB, label)
    return drawn

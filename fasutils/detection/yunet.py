"""Face detection with OpenCV's ``FaceDetectorYN`` (YuNet), returning boxes and five landmarks.

YuNet (OpenCV Zoo, ``face_detection_yunet``; the file the suite uses ships in johnraivenolazo/face-antispoof-onnx,
``models/detector.onnx``) expects **BGR** input: fed RGB, as that project's demo does, it loses about half of the
small faces (measured here on the WIDER FACE photos). :meth:`YuNet.detect` takes the suite's RGB images and
converts. Introduced in ``00_environment_and_data.ipynb``; notebook 05 compares it with YOLOv7-lite.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fasutils.core.errors import DetectionError
from fasutils.data.faces import Face, largest_face


class YuNet:
    """YuNet through ``cv2.FaceDetectorYN``; the default model is the registered ``yunet/detector.onnx``."""

    def __init__(self, model: str | Path | None = None, score_threshold: float = 0.8, nms_threshold: float = 0.3,
                 top_k: int = 5000) -> None:
        if model is None:
            from fasutils.core import assets

            model = assets.path("yunet/detector.onnx")
        self.model = Path(model)
        try:
            self._detector = cv2.FaceDetectorYN.create(str(self.model), "", (320, 320), score_threshold,
                                                       nms_threshold, top_k)
        except cv2.error as error:
            raise DetectionError(f"cannot load a YuNet face detector from {self.model}: "
                                    f"{str(error).strip().splitlines()[-1]}") from None

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        """All faces in an RGB uint8 image, highest score first."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise DetectionError(f"expected an RGB uint8 image (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        height, width = image_rgb.shape[:2]
        self._detector.setInputSize((width, height))
        _, rows = self._detector.detect(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
        if rows is None:
            return []
        faces = [Face(tuple(float(v) for v in row[:4]), row[4:14].reshape(5, 2).astype(np.float32), float(row[14]))
                 for row in rows]
        return sorted(faces, key=lambda face: -face.score)

    def detect_largest(self, image_rgb: np.ndarray, source: str = "image") -> Face:
        """The widest face; :class:`DetectionError` naming ``source`` when there is none."""
        face = largest_face(self.detect(image_rgb))
        if face is None:
            raise DetectionError(f"no face found in {source} (YuNet, score threshold "
                              f"{self._detector.getScoreThreshold():.2f})")
        return face

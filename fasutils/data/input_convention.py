"""Input conventions of the published weight families, as named, tested objects.

A model only works on inputs prepared exactly as its training inputs were: the crop (``fasutils.data.crops``), the
colour order, the value scale, the size, which output index means *live*, and how several models' scores are
fused. As the published code does it:

- **minivision** (MiniFASNetV2 at scale 2.7, MiniFASNetV1SE at 4.0; minivision-ai/Silent-Face-Anti-Spoofing):
  **BGR, raw 0-255** (``src/data_io/functional.py`` ``to_tensor`` has its /255 commented out), 80x80, 3 classes
  with **index 1 = live**; ``test.py`` sums the two models' softmaxes and P(live) = sum[1] / 2.
- **hairymax** (``*_1.5_128``; hairymax/Face-AntiSpoofing ``src/FaceAntiSpoofing.py``) and **johnraivenolazo**
  (98.20; johnraivenolazo/face-antispoof-onnx ``src/inference/preprocess.py``): **RGB / 255**, 128x128,
  **index 0 = live**; hairymax's print-replay model has the classes live, print, replay.

Fed the wrong way, the published models flip their answers (notebook 02 shows it).

Introduced in ``02_minifasnet_architecture.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fasutils.core.errors import DataError
from fasutils.data.crops import (
    HAIRYMAX_1_5,
    JOHNRAIVENOLAZO_1_5,
    MINIVISION_2_7,
    MINIVISION_4_0,
    CropConvention,
    crop_face,
)


@dataclass(frozen=True)
class InputConvention:
    """How one weight family wants its input prepared and its output read."""

    name: str
    crop: CropConvention  # box enlargement, padding, resize, size
    color_order: str  # "rgb" or "bgr": channel order of the network input
    scale: float  # multiply uint8 values by this: 1.0 (raw 0-255) or 1/255
    classes: tuple[str, ...]  # output index -> meaning
    live_index: int  # which output is live

    def __post_init__(self) -> None:
        if self.color_order not in {"rgb", "bgr"}:
            raise DataError(f"color_order must be 'rgb' or 'bgr', not {self.color_order!r}")
        if not 0 <= self.live_index < len(self.classes) or self.classes[self.live_index] != "live":
            raise DataError(f"classes[{self.live_index}] must be 'live' in {self.classes}")

    @property
    def input_size(self) -> tuple[int, int]:
        """Network input (height, width)."""
        return self.crop.size

    def prepare(self, images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """Network input ``(N, 3, H, W)`` float32 from RGB uint8 images and their face boxes (x, y, w, h)."""
        if len(images) != len(boxes):
            raise DataError(f"{len(images)} images but {len(boxes)} face boxes")
        batch = []
        for index, image in enumerate(images):
            if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
                    and image.shape[2] == 3):
                kind = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
                raise DataError(f"image {index} must be RGB uint8 (H, W, 3), not {kind}")
            crop = crop_face(image, boxes[index], self.crop)  # (H, W, 3) RGB uint8
            ordered = crop[..., ::-1] if self.color_order == "bgr" else crop
            batch.append(ordered.transpose(2, 0, 1).astype(np.float32) * np.float32(self.scale))
        return np.stack(batch) if batch else np.zeros((0, 3, *self.input_size), np.float32)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Softmax over classes of logits ``(N, classes)``."""
        logits = np.asarray(logits, dtype=np.float64)
        if logits.ndim != 2 or logits.shape[1] != len(self.classes):
            raise DataError(f"{self.name} expects logits of shape (N, {len(self.classes)}), not {logits.shape}")
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def live_probability(self, logits: np.ndarray) -> np.ndarray:
        """P(live) per input, ``(N,)``."""
        return self.probabilities(logits)[:, self.live_index]


def fuse_live_probability(conventions: Sequence[InputConvention], logits: Sequence[np.ndarray]) -> np.ndarray:
    """minivision's fusion: sum the models' softmaxes, P(live) = summed live probability / number of models."""
    if len(conventions) != len(logits) or not conventions:
        raise DataError(f"{len(conventions)} conventions for {len(logits)} logit arrays")
    return np.mean([convention.live_probability(scores)
                    for convention, scores in zip(conventions, logits, strict=True)], axis=0)


MINIVISION_CLASSES = ("spoof (2D)", "live", "spoof (3D)")
MINIVISION_V2 = InputConvention("minivision MiniFASNetV2 2.7_80x80", MINIVISION_2_7, "bgr", 1.0,
                                MINIVISION_CLASSES, 1)
MINIVISION_V1SE = InputConvention("minivision MiniFASNetV1SE 4_0_0_80x80", MINIVISION_4_0, "bgr", 1.0,
                                  MINIVISION_CLASSES, 1)
HAIRYMAX_BINARY = InputConvention("hairymax bin 1.5_128", HAIRYMAX_1_5, "rgb", 1 / 255, ("live", "spoof"), 0)
HAIRYMAX_PRINT_REPLAY = InputConvention("hairymax print-replay 1.5_128", HAIRYMAX_1_5, "rgb", 1 / 255,
                                        ("live", "print", "replay"), 0)
JOHNRAIVENOLAZO = InputConvention("johnraivenolazo 98.20", JOHNRAIVENOLAZO_1_5, "rgb", 1 / 255, ("live", "spoof"), 0)

INPUT_CONVENTIONS = {c.name: c for c in (MINIVISION_V2, MINIVISION_V1SE, HAIRYMAX_BINARY, HAIRYMAX_PRINT_REPLAY,
                                         JOHNRAIVENOLAZO)}

"""The YOLOv7-lite family as a config table: widths, depths, activation, and the keypoint head's anchors.

Numbers from derronqi/yolov7-face (``cfg/yolov7-lite-t.yaml``, ``cfg/yolov7-lite-s.yaml``) and its published ncnn
model ``yolov7-lite-e-opt-fp16``. No torch here: the decoding (:mod:`fasutils.detection.decoding`) and the
detector read the head's layout from a config without building the network (:mod:`fasutils.detection.yolov7`).
Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Anchor (width, height) in input pixels, 3 per level, for strides 8, 16, 32 (shared by all lite configs).
ANCHORS: tuple[tuple[tuple[int, int], ...], ...] = (((4, 5), (6, 8), (10, 12)),
                                                     ((15, 19), (23, 30), (39, 52)),
                                                     ((72, 97), (123, 164), (209, 297)))
STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class YoloV7LiteConfig:
    """Everything that decides a YOLOv7-lite network's shape."""

    name: str
    stem: str  # "stem_block" (lite-t/s) or "conv_pool" (lite-e)
    stem_channels: int
    stages: tuple[tuple[int, int], ...]  # P3, P4, P5: (channels, stride-1 blocks after the stride-2 one)
    sppf: bool  # SPPF after P5
    head_channels: int
    activation: str  # "relu" or "silu" (fasutils.detection.yolov7.ACTIVATIONS)
    num_keypoints: int = 5
    num_classes: int = 1
    anchors: tuple[tuple[tuple[int, int], ...], ...] = ANCHORS
    strides: tuple[int, ...] = STRIDES

    @property
    def values_per_anchor(self) -> int:
        """4 box + objectness + classes + keypoints x (x, y, visibility): 21 for faces."""
        return 5 + self.num_classes + 3 * self.num_keypoints


CONFIGS: dict[str, YoloV7LiteConfig] = {config.name: config for config in (
    YoloV7LiteConfig("lite-t", "stem_block", 16, ((48, 2), (96, 5), (192, 2)), True, 48, "silu"),
    YoloV7LiteConfig("lite-s", "stem_block", 32, ((96, 3), (192, 7), (384, 3)), True, 96, "silu"),
    # lite-e at width_multiple 0.5 (channels by make_divisible(c / 2, 8)), ReLU: the published ncnn model
    YoloV7LiteConfig("lite-e-0.5", "conv_pool", 16, ((64, 3), (120, 7), (232, 1)), False, 48, "relu"),
)}

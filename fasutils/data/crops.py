"""Face crops as each published model family cuts them: the box enlargement, the border rule and the resize.

A model only works on crops made the way its training crops were made, so each convention is a named,
frozen :class:`CropConvention`. The rules, as the published inference code cuts them:

- **minivision** (minivision-ai/Silent-Face-Anti-Spoofing, ``src/generate_patches.py``
  ``CropImage._get_new_box``): the face box is enlarged ``scale`` times about its centre, keeping the box's
  aspect (not square). The scale is first lowered to ``min((H-1)/box_h, (W-1)/box_w, scale)`` so the enlarged
  box fits in the image, then the box is *shifted* back inside (left/top edge to 0, right/bottom edge to
  W-1/H-1): no padding, ever. Corners are truncated to int and the crop includes its right/bottom pixel; it is
  resized to 80x80 (bilinear), so the face may be stretched. Weights ``2.7_80x80_MiniFASNetV2`` use scale 2.7,
  ``4_0_0_80x80_MiniFASNetV1SE`` scale 4.0.
- **hairymax** (hairymax/Face-AntiSpoofing, ``video_predict.py`` ``increased_crop``; weights ``*_1.5_128``): a
  square of side ``int(1.5 * max(w, h))`` centred on the box; its corner is ``int(centre - 1.5 * max(w, h) / 2)``
  (truncated toward zero, as published); what falls outside the image is **black** (constant 0); resized to 128
  bilinear.
- **johnraivenolazo** (johnraivenolazo/face-antispoof-onnx, ``src/inference/preprocess.py`` ``crop``): the same
  square, but what falls outside the image is **mirrored** (``BORDER_REFLECT_101``); resized to 128 with Lanczos
  when enlarging and area averaging when shrinking.

Both 128-pixel families then letterbox the crop to the model size; their crop is square and the model input is
square, so the letterbox is a plain resize, which is what :func:`crop_face` does. (The published letterbox can
come out one pixel short through float rounding and pad that pixel; we do not reproduce that.)

Colour order and value scaling (minivision: BGR 0-255; the others: RGB / 255) belong to the models, not here:
crops keep the input's dtype (uint8) and channel order (the suite's RGB).

Introduced in ``02_minifasnet_architecture.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from fasutils.core.errors import DataError

BOX_RULES = ("shift_inside", "square_pad")
BORDERS = {"none": None, "constant": cv2.BORDER_CONSTANT, "reflect101": cv2.BORDER_REFLECT_101}
INTERPOLATIONS = ("linear", "lanczos_up_area_down")


@dataclass(frozen=True)
class CropConvention:
    """How one model family turns a face box into its input crop.

    ``box_rule``: "shift_inside" (minivision: scale clamped so the box fits, box shifted into the image, no
    padding) or "square_pad" (square of side ``scale * max(w, h)``, the outside filled per ``border``).
    ``border``: "none", "constant" (``pad_value``) or "reflect101". ``interpolation``: "linear", or
    "lanczos_up_area_down" (Lanczos-4 when enlarging, area averaging when shrinking).
    """

    name: str
    scale: float
    size: tuple[int, int]  # model input (height, width)
    box_rule: str
    border: str = "none"
    pad_value: int = 0
    interpolation: str = "linear"
    origin: str = ""  # which published code and weights follow this convention

    def __post_init__(self) -> None:
        if self.box_rule not in BOX_RULES:
            raise DataError(f"box_rule must be one of {BOX_RULES}, not {self.box_rule!r}")
        if self.border not in BORDERS:
            raise DataError(f"border must be one of {tuple(BORDERS)}, not {self.border!r}")
        if self.interpolation not in INTERPOLATIONS:
            raise DataError(f"interpolation must be one of {INTERPOLATIONS}, not {self.interpolation!r}")
        if (self.box_rule == "square_pad") == (self.border == "none"):
            raise DataError("square_pad needs a border ('constant' or 'reflect101'); shift_inside takes 'none'")
        if not self.scale > 0 or len(self.size) != 2 or min(self.size) < 1:
            raise DataError(f"scale must be > 0 and size two positive ints, not {self.scale!r}, {self.size!r}")


MINIVISION_2_7 = CropConvention(
    "minivision-2.7", 2.7, (80, 80), "shift_inside",
    origin="minivision-ai/Silent-Face-Anti-Spoofing CropImage; weights 2.7_80x80_MiniFASNetV2 (also the APK)")
MINIVISION_4_0 = CropConvention(
    "minivision-4.0", 4.0, (80, 80), "shift_inside",
    origin="minivision-ai/Silent-Face-Anti-Spoofing CropImage; weights 4_0_0_80x80_MiniFASNetV1SE")
HAIRYMAX_1_5 = CropConvention(
    "hairymax-1.5", 1.5, (128, 128), "square_pad", border="constant", pad_value=0,
    origin="hairymax/Face-AntiSpoofing increased_crop(bbox_inc=1.5); weights AntiSpoofing_*_1.5_128")
JOHNRAIVENOLAZO_1_5 = CropConvention(
    "johnraivenolazo-1.5", 1.5, (128, 128), "square_pad", border="reflect101",
    interpolation="lanczos_up_area_down",
    origin="johnraivenolazo/face-antispoof-onnx src/inference/preprocess.py crop + preprocess (128)")

CONVENTIONS = {c.name: c for c in (MINIVISION_2_7, MINIVISION_4_0, HAIRYMAX_1_5, JOHNRAIVENOLAZO_1_5)}


def _checked_box(box_xywh: Sequence[float], width: int, height: int) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in box_xywh)
    except (TypeError, ValueError):
        raise DataError(f"face box must be four numbers x, y, w, h, not {box_xywh!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise DataError(f"face box {box_xywh!r} has a non-finite value")
    if w <= 0 or h <= 0:
        raise DataError(f"degenerate face box {box_xywh!r}: width and height must be positive")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise DataError(f"face box {box_xywh!r} lies outside the {width}x{height} image")
    return x, y, w, h


def crop_region(image_size: tuple[int, int], box_xywh: Sequence[float],
                convention: CropConvention) -> tuple[int, int, int, int]:
    """The region ``(x0, y0, x1, y1)`` (end exclusive) that ``convention`` cuts from a ``(width, height)`` image.

    For "square_pad" the region may reach outside the image (that part is padded); for "shift_inside" it never
    does. Raises :class:`DataError` for degenerate boxes.
    """
    width, height = image_size
    x, y, w, h = _checked_box(box_xywh, width, height)
    cx, cy = x + w / 2, y + h / 2
    if convention.box_rule == "square_pad":
        side = convention.scale * max(w, h)
        x0, y0 = int(cx - side / 2), int(cy - side / 2)  # int() truncates toward zero, as published
        if int(side) < 1:
            raise DataError(f"face box {tuple(box_xywh)!r} gives an empty {side:.2f}-pixel crop")
        return x0, y0, x0 + int(side), y0 + int(side)
    scale = min((height - 1) / h, (width - 1) / w, convention.scale)
    left, right = cx - w * scale / 2, cx + w * scale / 2
    top, bottom = cy - h * scale / 2, cy + h * scale / 2
    if left < 0:
        left, right = 0.0, right - left
    if top < 0:
        top, bottom = 0.0, bottom - top
    if right > width - 1:
        left, right = left - (right - width + 1), width - 1.0
    if bottom > height - 1:
        top, bottom = top - (bottom - height + 1), height - 1.0
    return int(left), int(top), int(right) + 1, int(bottom) + 1  # the right/bottom pixel is included


def _resize(crop: np.ndarray, convention: CropConvention) -> np.ndarray:
    out_h, out_w = convention.size
    if convention.interpolation == "linear":
        interpolation = cv2.INTER_LINEAR
    else:
        enlarging = max(out_h, out_w) > max(crop.shape[:2])
        interpolation = cv2.INTER_LANCZOS4 if enlarging else cv2.INTER_AREA
    return cv2.resize(crop, (out_w, out_h), interpolation=interpolation)


def crop_face(image: np.ndarray, box_xywh: Sequence[float], convention: CropConvention) -> np.ndarray:
    """The model-size crop ``(height, width, 3)`` uint8 of the face in ``box_xywh`` (pixels), per ``convention``.

    ``image`` is uint8 ``(H, W, 3)``, channel order kept (the suite reads RGB). Raises :class:`DataError` for
    degenerate boxes (not finite, zero or negative size, entirely off the image).
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise DataError(f"image must be a uint8 (H, W, 3) array, not {type(image).__name__} {shape}")
    height, width = image.shape[:2]
    x0, y0, x1, y1 = crop_region((width, height), box_xywh, convention)
    inside = image[max(y0, 0):min(y1, height), max(x0, 0):min(x1, width)]
    if inside.size == 0:
        raise DataError(f"the {convention.name} crop of face box {tuple(box_xywh)!r} misses the {width}x{height} image")
    if convention.box_rule == "square_pad":
        pads = (max(0, -y0), max(0, y1 - height), max(0, -x0), max(0, x1 - width))  # top, bottom, left, right
        if any(pads):
            value = (convention.pad_value,) * 3
            inside = cv2.copyMakeBorder(inside, *pads, BORDERS[convention.border], value=value)
    return _resize(np.ascontiguousarray(inside), convention)

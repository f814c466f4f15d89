"""The published anti-spoofing models, each with its weights, its ONNX export (if any) and its input convention.

Our MiniFASNet code runs the published ``.pth`` files; :func:`onnx_parity` compares it with the published ONNX
exports, and :func:`minivision_fused_live` reproduces minivision's two-model fusion.
Introduced in ``02_minifasnet_architecture.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from fasutils.data.input_convention import (
    HAIRYMAX_BINARY,
    HAIRYMAX_PRINT_REPLAY,
    JOHNRAIVENOLAZO,
    MINIVISION_V1SE,
    MINIVISION_V2,
    InputConvention,
    fuse_live_probability,
)
from fasutils.models.weights import LoadedWeights, load_minifasnet


@dataclass(frozen=True)
class PublishedModel:
    """One published model: registered weights, optional registered ONNX export, input convention."""

    name: str
    weights: str  # asset name of the .pth
    onnx: str | None  # asset name of the published ONNX export, if there is one
    convention: InputConvention


PUBLISHED = {m.name: m for m in (
    PublishedModel("minivision V2 2.7", "minivision/minifasnetv2-2.7-80x80", None, MINIVISION_V2),
    PublishedModel("minivision V1SE 4.0", "minivision/minifasnetv1se-4.0-80x80", None, MINIVISION_V1SE),
    PublishedModel("hairymax bin 1.5", "hairymax/bin-1.5-128.pth", "hairymax/bin-1.5-128.onnx", HAIRYMAX_BINARY),
    PublishedModel("hairymax print-replay 1.5", "hairymax/print-replay-1.5-128.pth",
                   "hairymax/print-replay-1.5-128.onnx", HAIRYMAX_PRINT_REPLAY),
    PublishedModel("johnraivenolazo 98.20", "johnraivenolazo/best-98.20.pth", "johnraivenolazo/best-98.20.onnx",
                   JOHNRAIVENOLAZO),
)}

MINIVISION_FUSION = ("minivision V2 2.7", "minivision V1SE 4.0")  # the two models minivision's test.py sums


@cache
def load(name: str) -> LoadedWeights:
    """The published model ``name`` in our code, in eval mode (weights verified by hash, loaded strictly)."""
    from fasutils.core import assets

    loaded = load_minifasnet(assets.path(PUBLISHED[name].weights))
    loaded.model.eval()
    return loaded


def logits(name: str, inputs: np.ndarray) -> np.ndarray:
    """Our model's logits ``(N, classes)`` for prepared inputs ``(N, 3, H, W)``."""
    with torch.no_grad():
        return load(name).model(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))).numpy()


def live_probability(name: str, images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]]) -> np.ndarray:
    """P(live) of RGB uint8 images with face boxes, prepared by the model's own convention."""
    convention = PUBLISHED[name].convention
    return convention.live_probability(logits(name, convention.prepare(images, boxes)))


def minivision_fused_live(images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]]) -> np.ndarray:
    """minivision's published decision score: V2 (2.7) and V1SE (4.0) softmaxes summed, P(live) = sum[1] / 2."""
    conventions = [PUBLISHED[n].convention for n in MINIVISION_FUSION]
    return fuse_live_probability(conventions, [logits(n, c.prepare(images, boxes))
                                               for n, c in zip(MINIVISION_FUSION, conventions)])

"""The published anti-spoofing models, each with its weights, its ONNX export (if any) and its input convention.

Our MiniFASNet code runs the published ``.pth`` files (:func:`load` hands out a fresh copy each call);
:func:`minivision_fused_live` reproduces minivision's two-model fusion (minivision-ai/Silent-Face-Anti-Spoofing,
``test.py``). The parity with the published ONNX exports is checked by
:func:`fasutils.export.onnx_export.published_onnx_parity`.
Introduced in ``02_minifasnet_architecture.ipynb``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
def _read(name: str) -> LoadedWeights:
    """The file read once per process; its model is never handed out, so nothing can change it."""
    from fasutils.core import assets

    loaded = load_minifasnet(assets.path(PUBLISHED[name].weights))
    loaded.model.eval()
    return loaded


def load(name: str) -> LoadedWeights:
    """The published model ``name`` in our code, in eval mode (weights verified by hash, loaded strictly).

    Each call returns its own copy of the model: changing one (``.train()``, hooks, weights) changes no other.
    """
    loaded = _read(name)
    return replace(loaded, model=copy.deepcopy(loaded.model))


def logits(name: str, inputs: np.ndarray) -> np.ndarray:
    """Our model's logits ``(N, classes)`` for prepared inputs ``(N, 3, H, W)``."""
    with torch.no_grad():
        return _read(name).model(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))).numpy()


def live_probability(name: str, images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]]) -> np.ndarray:
    """P(live) of RGB uint8 images with face boxes, prepared by the model's own convention."""
    convention = PUBLISHED[name].convention
    return convention.live_probability(logits(name, convention.prepare(images, boxes)))


def minivision_fused_live(images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]]) -> np.ndarray:
    """minivision's published decision score: V2 (2.7) and V1SE (4.0) softmaxes summed, P(live) = sum[1] / 2."""
    conventions = [PUBLISHED[n].convention for n in MINIVISION_FUSION]
    return fuse_live_probability(conventions, [logits(n, c.prepare(images, boxes))
                                               for n, c in zip(MINIVISION_FUSION, conventions, strict=True)])

"""Any liveness classifier the suite knows, behind one interface: P(live) of faces in RGB images.

:func:`load_classifier` takes a name or a path:

- ``"suite"``: the suite's shipped model (``models/``, trained by notebook 03);
- a published model's name (``fasutils.models.published.PUBLISHED``, e.g. ``"hairymax bin 1.5"``), or
  ``"minivision fused"`` (minivision's V2 + V1SE fusion), each with its own input convention;
- a ``.pt`` written by :func:`fasutils.training.checkpoints.save_for_inference` (its ``.json`` beside it);
- an ``.onnx`` written by :mod:`fasutils.export.onnx_export` or :mod:`fasutils.export.quantization` (convention
  read from its metadata), run by :func:`onnx_classifier` in one :func:`fasutils.export.sessions.session`.

It lives in ``export`` because it loads both the trainer's ``.pt`` files and the ONNX exports. Introduced in
``05_yolov7_lite_detection.ipynb`` (the prediction pipeline); ``07_evaluation_report.ipynb`` scores with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fasutils.core.errors import ModelError
from fasutils.data.input_convention import InputConvention

SUITE = "suite"
MINIVISION_FUSED = "minivision fused"


@dataclass(frozen=True)
class Classifier:
    """A liveness model with the input convention it was trained with."""

    name: str
    convention: InputConvention  # for a fused model: the first member's (the crops differ per member)
    live_probability_of: Callable[[Sequence[np.ndarray], Sequence[Sequence[float]]], np.ndarray]
    files: tuple[Path, ...] = ()  # the weight files, for provenance
    threshold: float = 0.5  # P(live) at or above which a face is live: the model's chosen one (its .json), else 0.5

    def live_probability(self, images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]],
                         batch_size: int = 64) -> np.ndarray:
        """P(live) (N,) of RGB uint8 images with face boxes (x, y, w, h), in batches of ``batch_size``."""
        parts = [self.live_probability_of(images[i:i + batch_size], boxes[i:i + batch_size])
                 for i in range(0, len(images), batch_size)]
        return np.concatenate(parts) if parts else np.zeros(0)

    def sha256(self) -> str:
        """SHA-256 of the weight files (of their concatenation, if several)."""
        digest = hashlib.sha256()
        for file in self.files:
            digest.update(file.read_bytes())
        return digest.hexdigest()


def _torch_scorer(model: torch.nn.Module, convention: InputConvention) -> Callable:
    def live_probability(images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]]) -> np.ndarray:
        with torch.no_grad():
            logits = model(torch.from_numpy(convention.prepare(images, boxes))).numpy()
        return convention.live_probability(logits)
    return live_probability


def onnx_classifier(path: str | Path, threads: int | None = None,
                    convention: InputConvention | None = None) -> Classifier:
    """The ONNX file at ``path`` as a classifier, in one onnxruntime session of ``threads`` intra-op threads; its
    convention read from the file's metadata unless given (published files carry none)."""
    from fasutils.export.onnx_export import read_convention
    from fasutils.export.sessions import run_session, session

    path = Path(path)
    runner, convention = session(path, threads), convention or read_convention(path)
    return Classifier(path.name, convention, lambda images, boxes: convention.live_probability(
        run_session(runner, convention.prepare(images, boxes))), (path,))


def load_classifier(spec: str | Path = SUITE) -> Classifier:
    """The classifier named or stored at ``spec`` (see the module docstring); :class:`ModelError` if none."""
    from fasutils.core import assets
    from fasutils.core.paths import shipped_model
    from fasutils.models import published as pm
    from fasutils.training.checkpoints import decision_threshold, load_for_inference

    text = str(spec)
    if text in pm.PUBLISHED:
        published = pm.PUBLISHED[text]
        return Classifier(text, published.convention, _torch_scorer(pm.load(text).model, published.convention),
                          (assets.path(published.weights),))
    if text == MINIVISION_FUSED:
        members = [pm.PUBLISHED[name] for name in pm.MINIVISION_FUSION]
        return Classifier(text, members[0].convention, pm.minivision_fused_live,
                          tuple(assets.path(m.weights) for m in members))
    path = shipped_model() if text == SUITE else Path(text)
    if path.suffix == ".onnx":
        return onnx_classifier(path)
    if path.suffix in {".pt", ".pth"} and path.is_file():
        model, convention = load_for_inference(path)
        return Classifier(SUITE if text == SUITE else path.name, convention, _torch_scorer(model, convention),
                          (path,), decision_threshold(path))
    raise ModelError(f"{text!r} is not a classifier the suite knows: give {SUITE!r}, {MINIVISION_FUSED!r}, "
                     f"one of {', '.join(repr(n) for n in pm.PUBLISHED)}, a .pt written by "
                     "save_for_inference, or an .onnx exported by fasutils.export.onnx_export")

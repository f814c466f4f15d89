"""ONNX export of the classifier, with its input convention written into the file's metadata.

The exported graph is the inference path only (no Fourier branch), with a dynamic batch, input ``input``
(N, 3, H, W) float32 and output ``logits`` (N, classes). The metadata (``fas.*`` keys) says how to prepare the
input and read the output, so a consumer needs nothing but the file.

PReLU is written as ``w * x + (1 - w) * relu(x)`` by default (``prelu="fast"``): the same function, but
onnxruntime's ``PRelu`` kernel broadcasts a per-channel slope slowly (measured here: 45 % of the FP32 run time of
MiniFASNetV2SE at 80x80) and has no INT8 version, while Mul, Relu and Add are fast and all quantizable.

:func:`read_convention` reads the metadata back (and checks it against an expected convention);
:func:`onnx_parity` compares an export with its PyTorch model in onnxruntime, and :func:`published_onnx_parity`
our code with a published model's own ONNX file (``02_minifasnet_architecture.ipynb``). Introduced in
``04_onnx_int8_export.ipynb``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from fasutils.core import assets
from fasutils.core.errors import ExportError, UntrainedModelError
from fasutils.core.files import atomic_output
from fasutils.data.crops import CropConvention
from fasutils.data.input_convention import InputConvention
from fasutils.export.sessions import run_onnx
from fasutils.models import published

if TYPE_CHECKING:  # imported lazily at run time: onnx is slow to import
    import onnx

OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "logits"
METADATA_PREFIX = "fas."
PRELU_FORMS = ("fast", "onnx")


class FastPReLU(nn.Module):
    """``nn.PReLU`` rewritten as ``w * x + (1 - w) * relu(x)``: equal values, faster and quantizable ONNX ops."""

    def __init__(self, prelu: nn.PReLU) -> None:
        super().__init__()
        self.weight = prelu.weight  # (C,) shared, not copied

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slope = self.weight.view(1, -1, *([1] * (x.dim() - 2)))  # (1, C, 1, 1)
        return slope * x + (1 - slope) * torch.relu(x)


@contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence the dynamo exporter's chatter (missing torchvision ops, deprecations inside torch.export)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def _classifier(model: nn.Module) -> nn.Module:
    """The inference path of a MultiFTNet (its ``model``) or a MiniFASNet, in eval mode."""
    return getattr(model, "model", model).eval()


def with_fast_prelu(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.PReLU`` replaced by :class:`FastPReLU` (the original is untouched)."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.PReLU):
                setattr(parent, name, FastPReLU(child))
    return model


def require_trained(model: nn.Module, what: str) -> None:
    """Raise :class:`UntrainedModelError` if every BatchNorm of ``model`` still holds its initial statistics."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if norms and all(bool((m.running_mean == 0).all() and (m.running_var == 1).all()) for m in norms):
        raise UntrainedModelError(f"{what}: the model looks untrained (all {len(norms)} BatchNorm layers hold their "
                                  "initial statistics); load trained weights first, or pass allow_untrained=True")


def convention_metadata(convention: InputConvention) -> dict[str, str]:
    """The ``fas.*`` metadata entries describing ``convention`` (all values are strings, as ONNX requires)."""
    values = {"convention": convention.name, "color_order": convention.color_order, "scale": repr(convention.scale),
              "input_size": json.dumps(list(convention.input_size)), "classes": json.dumps(list(convention.classes)),
              "live_index": str(convention.live_index), "crop": json.dumps(dataclasses.asdict(convention.crop))}
    return {METADATA_PREFIX + key: value for key, value in values.items()}


def export_onnx(model: nn.Module, path: str | Path, convention: InputConvention, *, opset: int = OPSET,
                prelu: str = "fast", allow_untrained: bool = False) -> Path:
    """Export the classifier of ``model`` to ``path`` (written atomically) with ``convention`` in its metadata.

    ``prelu``: "fast" (see the module docstring) or "onnx" (the plain ``PRelu`` op).
    """
    import onnx

    path = Path(path)
    if prelu not in PRELU_FORMS:
        raise ExportError(f"prelu must be one of {PRELU_FORMS}, not {prelu!r}")
    classifier = _classifier(model)
    if not allow_untrained:
        require_trained(classifier, f"cannot export to {path}")
    example = torch.rand(2, 3, *convention.input_size)  # (N, 3, H, W)
    try:
        with torch.no_grad():
            classes = classifier(example).shape[1]
    except (RuntimeError, ValueError) as error:  # ModelError, or a shape error deeper in another model
        raise ExportError(f"cannot export to {path}: the model does not take convention {convention.name!r}'s "
                          f"input of {convention.input_size[0]}x{convention.input_size[1]} "
                          f"({str(error).splitlines()[0]})") from None
    if classes != len(convention.classes):
        raise ExportError(f"cannot export to {path}: the model has {classes} outputs but convention "
                          f"{convention.name!r} names {len(convention.classes)} classes")
    if prelu == "fast":
        classifier = with_fast_prelu(classifier)
    with atomic_output(path) as draft, quiet_exporter():
        torch.onnx.export(classifier, (example,), str(draft), dynamo=True, verbose=False, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
        graph = onnx.load(str(draft))
        for key, value in convention_metadata(convention).items():
            graph.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
        onnx.checker.check_model(graph, full_check=True)
        onnx.save(graph, str(draft))
    return path


def load_onnx(path: str | Path) -> onnx.ModelProto:
    """The ONNX graph at ``path`` (weights included); :class:`ExportError` naming the file if it is not one."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such ONNX file")
    try:
        return onnx.load(str(path))
    except Exception as error:  # protobuf raises several unrelated types for a non-ONNX file
        raise ExportError(f"{path} is not an ONNX model: {type(error).__name__}: {error}") from None


def read_convention(path: str | Path, expected: InputConvention | None = None) -> InputConvention:
    """The input convention stored in an exported file's metadata.

    :class:`ExportError` if it is absent or broken, or if it differs from ``expected`` (the fields are named).
    """
    path = Path(path)
    graph = load_onnx(path)
    stored = {p.key[len(METADATA_PREFIX):]: p.value for p in graph.metadata_props if p.key.startswith(METADATA_PREFIX)}
    needed = {"convention", "color_order", "scale", "classes", "live_index", "crop"}
    if not needed <= set(stored):
        raise ExportError(f"{path} carries no FAS Lab input convention (missing metadata "
                          f"{', '.join(sorted(needed - set(stored)))}); export it with fasutils.export.onnx_export, "
                          "or pass its convention explicitly")
    crop = json.loads(stored["crop"])
    found = InputConvention(stored["convention"], CropConvention(**{**crop, "size": tuple(crop["size"])}),
                            stored["color_order"], float(stored["scale"]), tuple(json.loads(stored["classes"])),
                            int(stored["live_index"]))
    if expected is not None and found != expected:
        names = [f.name for f in dataclasses.fields(InputConvention)]
        differences = [f"{name} {getattr(found, name)!r} (expected {getattr(expected, name)!r})"
                       for name in names if getattr(found, name) != getattr(expected, name)]
        raise ExportError(f"{path} was exported for another input convention: {'; '.join(differences)}")
    return found


def onnx_parity(model: nn.Module, path: str | Path, inputs: np.ndarray) -> float:
    """max |PyTorch logits - onnxruntime logits| of ``model`` and the ONNX file at ``path`` on ``inputs``."""
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    with torch.no_grad():
        ours = _classifier(model)(torch.from_numpy(inputs)).numpy()
    return float(np.abs(ours - run_onnx(path, inputs)).max())


def published_onnx_parity(name: str, inputs: np.ndarray) -> float:
    """max |our code's logits with the published weights ``name`` - the published ONNX export's logits|."""
    return onnx_parity(published.load(name).model, assets.path(published.PUBLISHED[name].onnx), inputs)

"""ONNX export of the classifier, with its input convention written into the file's metadata.

The exported graph is the inference path only (no Fourier branch), with a dynamic batch, input ``input``
(N, 3, H, W) float32 and output ``logits`` (N, classes). The metadata (``fas.*`` keys) says how to prepare the
input and read the output, so a consumer needs nothing but the file. Introduced in ``04_onnx_int8_export.ipynb``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fasutils.conventions import InputConvention
from fasutils.crops import CropConvention
from fasutils.errors import FasError

OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "logits"
METADATA_PREFIX = "fas."


class OnnxModelError(FasError):
    """An ONNX file that is not one, or lacks or contradicts the input convention it should carry."""


def _classifier(model: nn.Module) -> nn.Module:
    """The inference path of a MultiFTNet (its ``model``) or a MiniFASNet, in eval mode."""
    return getattr(model, "model", model).eval()


def convention_metadata(convention: InputConvention) -> dict[str, str]:
    """The ``fas.*`` metadata entries describing ``convention`` (all values are strings, as ONNX requires)."""
    values = {"convention": convention.name, "color_order": convention.color_order, "scale": repr(convention.scale),
              "input_size": json.dumps(list(convention.input_size)), "classes": json.dumps(list(convention.classes)),
              "live_index": str(convention.live_index), "crop": json.dumps(dataclasses.asdict(convention.crop))}
    return {METADATA_PREFIX + key: value for key, value in values.items()}


def export_onnx(model: nn.Module, path: str | Path, convention: InputConvention, opset: int = OPSET) -> Path:
    """Export the classifier of ``model`` to ``path`` (written atomically) with ``convention`` in its metadata."""
    import onnx

    path = Path(path)
    classifier = _classifier(model)
    example = torch.rand(2, 3, *convention.input_size)  # (N, 3, H, W)
    classes = classifier(example).shape[1]
    if classes != len(convention.classes):
        raise OnnxModelError(f"cannot export to {path}: the model has {classes} outputs but convention "
                             f"{convention.name!r} names {len(convention.classes)} classes")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        draft = Path(scratch) / path.name
        torch.onnx.export(classifier, (example,), str(draft), dynamo=True, verbose=False, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
        graph = onnx.load(str(draft))
        for key, value in convention_metadata(convention).items():
            graph.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
        onnx.checker.check_model(graph, full_check=True)
        onnx.save(graph, str(draft))
        os.replace(draft, path)
    return path


def read_convention(path: str | Path) -> InputConvention:
    """The input convention stored in an exported file's metadata; :class:`OnnxModelError` if absent or broken."""
    import onnx

    path = Path(path)
    try:
        graph = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises several unrelated types for a non-ONNX file
        raise OnnxModelError(f"{path} is not an ONNX model: {type(error).__name__}: {error}") from None
    stored = {p.key[len(METADATA_PREFIX):]: p.value for p in graph.metadata_props if p.key.startswith(METADATA_PREFIX)}
    needed = {"convention", "color_order", "scale", "classes", "live_index", "crop"}
    if not needed <= set(stored):
        raise OnnxModelError(f"{path} carries no FAS Lab input convention (missing metadata "
                             f"{', '.join(sorted(needed - set(stored)))}); export it with fasutils.onnx_export, or "
                             "pass its convention explicitly")
    crop = json.loads(stored["crop"])
    return InputConvention(stored["convention"], CropConvention(**{**crop, "size": tuple(crop["size"])}),
                           stored["color_order"], float(stored["scale"]), tuple(json.loads(stored["classes"])),
                           int(stored["live_index"]))


def run_onnx(path: str | Path, inputs: np.ndarray) -> np.ndarray:
    """Outputs of the ONNX model at ``path`` for ``inputs`` (N, 3, H, W), one at a time if its batch is fixed to 1."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model_input = session.get_inputs()[0]
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    if model_input.shape[0] == 1:  # e.g. hairymax's exports: a batch of exactly one
        return np.concatenate([session.run(None, {model_input.name: x[None]})[0] for x in inputs])
    return session.run(None, {model_input.name: inputs})[0]


def onnx_parity(model: nn.Module, path: str | Path, inputs: np.ndarray) -> float:
    """max |PyTorch logits - onnxruntime logits| of ``model`` and the ONNX file at ``path`` on ``inputs``."""
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    with torch.no_grad():
        ours = _classifier(model)(torch.from_numpy(inputs)).numpy()
    return float(np.abs(ours - run_onnx(path, inputs)).max())

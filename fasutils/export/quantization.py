"""INT8 quantization of exported classifiers with ``onnxruntime.quantization``, as named, reproducible recipes.

- **dynamic**: weights stored as INT8, activations quantized at run time by each ``DynamicQuantizeLinear``
  (what johnraivenolazo shipped; no calibration data).
- **static**: activation ranges calibrated once on real training-split crops (seeded sample), then fixed.
  QDQ format (Quantize/DequantizeLinear pairs that onnxruntime fuses into integer kernels at load time) or
  QOperator format (``QLinearConv`` etc. written directly); per-channel or per-tensor weight scales.

Every recipe runs ``quant_pre_process`` (shape inference + graph optimisation) first, keeps the ``fas.*``
input-convention metadata of the FP32 file, and writes its output atomically. Introduced in
``04_onnx_int8_export.ipynb``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from fasutils.core.errors import ExportError
from fasutils.core.files import atomic_output
from fasutils.core.images import read_image
from fasutils.data.input_convention import InputConvention
from fasutils.data.records import Record
from fasutils.export.onnx_export import METADATA_PREFIX, load_onnx


@dataclass(frozen=True)
class QuantRecipe:
    """One way to quantize: every option onnxruntime.quantization is given, by name."""

    name: str
    static: bool  # calibrated activation ranges (True) or run-time dynamic quantization (False)
    quant_format: QuantFormat = QuantFormat.QDQ  # static only: QDQ pairs or QOperator (QLinear*) nodes
    per_channel: bool = True  # one weight scale per output channel (True) or per tensor
    activation_type: QuantType = QuantType.QUInt8  # u8 activations: the fast path of x86 integer kernels
    weight_type: QuantType = QuantType.QInt8
    calibrate_method: CalibrationMethod = CalibrationMethod.MinMax
    summary: str = ""


RECIPES = {r.name: r for r in (
    QuantRecipe("dynamic", static=False, per_channel=False, weight_type=QuantType.QUInt8,
                summary="johnraivenolazo's recipe: uint8 weights, activations quantized at run time"),
    QuantRecipe("static-qdq-per-tensor", static=True, per_channel=False,
                summary="calibrated, QDQ pairs, one scale per weight tensor"),
    QuantRecipe("static-qdq", static=True,
                summary="calibrated, QDQ pairs, per-channel weight scales"),
    QuantRecipe("static-qoperator", static=True, quant_format=QuantFormat.QOperator,
                summary="calibrated, QLinear* operators written directly, per-channel weight scales"),
)}


def calibration_inputs(records: Sequence[Record], convention: InputConvention, count: int = 256,
                       seed: int = 0) -> np.ndarray:
    """Network inputs (count, 3, H, W) float32 of a seeded random sample of ``records`` prepared by ``convention``.

    Calibrate on the training split: the test split must stay unseen by every fitted choice.
    """
    if not records:
        raise ExportError("no records to calibrate on")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(records), size=min(count, len(records)), replace=False))
    images = [read_image(records[i].path) for i in chosen]
    return convention.prepare(images, [records[i].box for i in chosen])


class _Batches(CalibrationDataReader):
    """Feeds calibration inputs to onnxruntime in fixed-size batches."""

    def __init__(self, inputs: np.ndarray, input_name: str, batch_size: int) -> None:
        self.batches = iter([{input_name: inputs[i:i + batch_size]} for i in range(0, len(inputs), batch_size)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def _checked_calibration(inputs: np.ndarray, model_path: Path) -> tuple[np.ndarray, str]:
    """The calibration inputs as float32, checked against the model's input; and that input's name."""
    graph_input = load_onnx(model_path).graph.input[0]
    expected = [d.dim_value or None for d in graph_input.type.tensor_type.shape.dim]  # None: dynamic
    inputs = np.asarray(inputs)
    if inputs.dtype.kind != "f" or inputs.ndim != len(expected) or any(
            e is not None and e != n for e, n in zip(expected[1:], inputs.shape[1:], strict=True)):
        shape = "(N, " + ", ".join(str(e) for e in expected[1:]) + ")"
        raise ExportError(f"calibration data for {model_path} must be float {shape}, not {inputs.dtype} "
                          f"{inputs.shape}")
    if len(inputs) < 8:
        raise ExportError(f"calibration needs at least 8 inputs, got {len(inputs)}")
    return np.ascontiguousarray(inputs, dtype=np.float32), graph_input.name


def quantize(fp32_path: str | Path, out_path: str | Path, recipe: str | QuantRecipe,
             calibration: np.ndarray | None = None, batch_size: int = 16) -> Path:
    """Quantize the FP32 ONNX file at ``fp32_path`` by ``recipe`` (a name in :data:`RECIPES`) into ``out_path``.

    Static recipes need ``calibration``: network inputs (N, 3, H, W) as the model expects them (see
    :func:`calibration_inputs`). The result is checked by ``onnx.checker`` and written atomically.
    """
    import onnx

    fp32_path, out_path = Path(fp32_path), Path(out_path)
    recipe = RECIPES[recipe] if isinstance(recipe, str) else recipe
    metadata = {p.key: p.value for p in load_onnx(fp32_path).metadata_props if p.key.startswith(METADATA_PREFIX)}
    if recipe.static:
        if calibration is None:
            raise ExportError(f"recipe {recipe.name!r} is static: it needs calibration inputs")
        calibration, input_name = _checked_calibration(calibration, fp32_path)
    with atomic_output(out_path) as draft:
        prepared = draft.with_name("prepared.onnx")
        quant_pre_process(str(fp32_path), str(prepared))
        if recipe.static:
            quantize_static(str(prepared), str(draft), _Batches(calibration, input_name, batch_size),
                            quant_format=recipe.quant_format, per_channel=recipe.per_channel,
                            activation_type=recipe.activation_type, weight_type=recipe.weight_type,
                            calibrate_method=recipe.calibrate_method)
        else:
            quantize_dynamic(str(prepared), str(draft), per_channel=recipe.per_channel,
                             weight_type=recipe.weight_type)
        graph = onnx.load(str(draft))
        kept = {p.key for p in graph.metadata_props}
        for key, value in metadata.items():
            if key not in kept:
                graph.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
        onnx.checker.check_model(graph)
        onnx.save(graph, str(draft))
    return out_path


def op_histogram(path: str | Path) -> Counter:
    """How many nodes of each operator type the ONNX graph at ``path`` holds."""
    return Counter(node.op_type for node in load_onnx(path).graph.node)


def recipe_table() -> pd.DataFrame:
    """Every recipe with the options it passes to onnxruntime.quantization, one row each."""
    return pd.DataFrame([{"recipe": r.name, "calibrated": r.static,
                          "format": r.quant_format.name if r.static else "dynamic",
                          "per-channel weights": r.per_channel,
                          "activations": r.activation_type.name if r.static else "uint8 at run time",
                          "weights": r.weight_type.name, "calibration": r.calibrate_method.name if r.static else "-",
                          "summary": r.summary} for r in RECIPES.values()]).set_index("recipe")

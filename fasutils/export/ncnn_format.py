"""A reader for ncnn model files: the ``.param`` text (layers, blobs, parameters) and the ``.bin`` weights.

Only what a converted PyTorch detector needs is understood, and anything else is refused by name:

- ``.param``: the magic number 7767517, then ``layer_count blob_count``, then one line per layer:
  ``type name n_inputs n_outputs inputs... outputs... key=value...``. A value is an int, a float, or, for a
  negative key ``-23300 - k``, the array ``count,v1,v2,...`` of parameter ``k``.
- ``.bin``: the weights of every layer that has any, back to back in layer order. What a layer stores, and in
  which order, depends on its type (:data:`WEIGHTS`). A convolution kernel starts with a 4-byte storage flag
  (``0x01306B47``: fp16 follows; ``0``: fp32 follows); biases and ``MemoryData`` are plain fp32. Each block is
  padded to a multiple of 4 bytes.

The format is Tencent/ncnn's (``docs/developer-guide/param-and-model-file-structure.md``). The published ncnn
files of derronqi/yolov7-face (``cpp/yolov7-face-ncnn/models/yolov7-lite-e-opt-fp16.{param,bin}``) are GPL-3.0:
this module reads them at run time and the project never stores them or anything converted from them. Its errors
are :class:`~fasutils.core.errors.DetectionError`, the error of the detector these files load into.
:func:`run_ncnn` runs the same files in the ``ncnn`` package, the parity oracle. Introduced in
``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fasutils.core.errors import DetectionError

MAGIC = 7767517
FP16_TAG = 0x01306B47  # storage flag of an fp16 kernel
ARRAY_KEY = -23300  # key -23300 - k holds the array value of parameter k

Param = int | float | tuple[int | float, ...]


@dataclass
class NcnnLayer:
    """One layer of an ncnn network: its wiring, parameters and (once read) weights."""

    type: str
    name: str
    inputs: list[str]  # blob names
    outputs: list[str]
    params: dict[int, Param]
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # float32, in WEIGHTS order

    def param(self, key: int, default: Param = 0) -> Param:
        return self.params.get(key, default)


@dataclass
class NcnnNet:
    """All layers of a ``.param`` file, in file order."""

    layers: list[NcnnLayer]
    blob_count: int

    def layer(self, name: str) -> NcnnLayer:
        """The layer called ``name``; KeyError otherwise."""
        return next(layer for layer in self.layers if layer.name == name)

    def of_type(self, *types: str) -> list[NcnnLayer]:
        """The layers of the given types, in file order."""
        return [layer for layer in self.layers if layer.type in types]


def _convolution(layer: NcnnLayer) -> list[tuple[str, tuple[int, ...], bool]]:
    if layer.param(8) or (layer.type == "Convolution" and layer.param(7, 1) != 1):
        raise DetectionError(f"layer {layer.name} ({layer.type}) uses int8 scales or groups, which this reader "
                             "does not support")
    out_channels, size, kernel_w = layer.param(0), layer.param(6), layer.param(1)
    kernel_h = layer.param(11, kernel_w)
    in_per_group = size // (out_channels * kernel_h * kernel_w)
    blocks = [("weight", (out_channels, in_per_group, kernel_h, kernel_w), True)]
    if layer.param(5):  # bias_term
        blocks.append(("bias", (out_channels,), False))
    return blocks


def _memory_data(layer: NcnnLayer) -> list[tuple[str, tuple[int, ...], bool]]:
    width, height, channels = layer.param(0), layer.param(1), layer.param(2)
    shape = tuple(n for n in (channels, height, width) if n)  # ncnn drops the unused outer dimensions
    return [("data", shape, False)]


# Per layer type: the weight blocks in file order as (name, shape, has a storage flag). Types absent from the
# .bin map to no blocks; a type not listed here is refused, since its weights could not be skipped safely.
WEIGHTS = {
    "Convolution": _convolution,
    "ConvolutionDepthWise": _convolution,
    "MemoryData": _memory_data,
    **{kind: lambda layer: [] for kind in ("Input", "Pooling", "Split", "Crop", "Concat", "ShuffleChannel",
                                           "BinaryOp", "Interp", "ReLU", "Sigmoid", "Eltwise", "Reshape",
                                           "Permute", "Slice", "Flatten", "Noop")},
}


def _value(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _parse_params(items: list[str], where: str) -> dict[int, Param]:
    params: dict[int, Param] = {}
    for item in items:
        key_text, sep, value_text = item.partition("=")
        try:
            key = int(key_text)
            if not sep:
                raise ValueError
            if key <= ARRAY_KEY:
                count, *values = value_text.split(",")
                if int(count) != len(values):
                    raise ValueError
                params[ARRAY_KEY - key] = tuple(_value(v) for v in values)
            else:
                params[key] = _value(value_text)
        except ValueError:
            raise DetectionError(f"{where}: unreadable parameter {item!r}") from None
    return params


def read_param(path: str | Path) -> NcnnNet:
    """Parse an ncnn ``.param`` text file (no weights)."""
    path = Path(path)
    lines = [line.split() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    if not lines or lines[0] != [str(MAGIC)]:
        raise DetectionError(f"{path} is not an ncnn .param text file (first line must be the magic {MAGIC})")
    try:
        layer_count, blob_count = (int(n) for n in lines[1])
    except (IndexError, ValueError):
        raise DetectionError(f"{path}: line 2 must be 'layer_count blob_count'") from None
    if len(lines) - 2 != layer_count:
        raise DetectionError(f"{path} announces {layer_count} layers but lists {len(lines) - 2}")
    layers = []
    for number, fields in enumerate(lines[2:], start=3):
        where = f"{path} line {number}"
        try:
            kind, name, n_in, n_out = fields[0], fields[1], int(fields[2]), int(fields[3])
        except (IndexError, ValueError):
            raise DetectionError(f"{where}: expected 'type name n_inputs n_outputs ...'") from None
        blobs = fields[4:4 + n_in + n_out]
        if len(blobs) != n_in + n_out:
            raise DetectionError(f"{where}: layer {name} lists fewer blobs than {n_in} + {n_out}")
        layers.append(NcnnLayer(kind, name, blobs[:n_in], blobs[n_in:],
                                _parse_params(fields[4 + n_in + n_out:], f"{where} (layer {name})")))
    return NcnnNet(layers, blob_count)


def _read_block(data: bytes, offset: int, layer: NcnnLayer, name: str, count: int, flagged: bool,
                path: Path) -> tuple[np.ndarray, int]:
    """``count`` float32 values of ``layer``'s block ``name`` at ``offset``; returns them and the next offset."""
    def take(nbytes: int) -> bytes:
        if offset + nbytes > len(data):
            raise DetectionError(f"{path} ends inside the {name} of layer {layer.name} ({layer.type}): it needs "
                                 f"{nbytes} bytes at offset {offset}, the file has {len(data)}. The .bin is "
                                 "truncated or belongs to another .param")
        return data[offset:offset + nbytes]

    dtype = np.dtype("<f4")
    if flagged:
        tag = int.from_bytes(take(4), "little")
        offset += 4
        if tag == FP16_TAG:
            dtype = np.dtype("<f2")
        elif tag != 0:
            raise DetectionError(f"{path}: the {name} of layer {layer.name} has storage flag {tag:#010x}; only fp16 "
                                 f"({FP16_TAG:#010x}) and fp32 (0) weights are supported")
    nbytes = count * dtype.itemsize
    values = np.frombuffer(take(nbytes), dtype).astype(np.float32)
    return values, offset + (nbytes + 3) // 4 * 4  # blocks are padded to 4 bytes


def read_ncnn(param: str | Path, bin_file: str | Path) -> NcnnNet:
    """Parse ``param`` and read every layer's weights from ``bin_file`` (as float32 arrays in ``layer.weights``).

    Raises :class:`DetectionError` naming the layer when the ``.bin`` is too short, too long or of an
    unsupported storage type.
    """
    net = read_param(param)
    path = Path(bin_file)
    data = path.read_bytes()
    offset = 0
    for layer in net.layers:
        if layer.type not in WEIGHTS:
            raise DetectionError(f"layer {layer.name} has type {layer.type}, which this reader does not know")
        for name, shape, flagged in WEIGHTS[layer.type](layer):
            values, offset = _read_block(data, offset, layer, name, int(np.prod(shape)), flagged, path)
            layer.weights[name] = values.reshape(shape)
    if offset != len(data):
        raise DetectionError(f"{path} has {len(data) - offset} bytes left after the weights of the last layer: "
                             f"it does not belong to {Path(param).name}")
    return net


def run_ncnn(param: str | Path, bin_file: str | Path, inputs: np.ndarray, input_name: str = "data",
             output_names: tuple[str, ...] = ("stride_8", "stride_16", "stride_32")) -> list[np.ndarray]:
    """The outputs of the original files run by the ``ncnn`` package (the parity oracle), for (C, H, W) float32.

    One thread, fp32 storage and arithmetic: on x86 the wheel computes in fp32 anyway (the fp16 options change
    no bit there), so parity does not depend on the CPU. The ``ncnn`` package is needed only here.
    """
    import ncnn

    net = ncnn.Net()
    net.opt.num_threads = 1
    for option in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage"):
        setattr(net.opt, option, False)
    if net.load_param(str(param)) or net.load_model(str(bin_file)):
        raise DetectionError(f"ncnn cannot load {param} / {bin_file}")
    data = np.ascontiguousarray(inputs, dtype=np.float32)  # the Mat borrows this buffer: keep it alive
    extractor = net.create_extractor()
    extractor.input(input_name, ncnn.Mat(data))
    return [np.array(extractor.extract(name)[1]) for name in output_names]

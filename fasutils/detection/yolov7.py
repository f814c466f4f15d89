"""YOLOv7-lite face detectors (box + 5 landmarks), rebuilt from the published architecture facts.

Source of the facts: derronqi/yolov7-face (``cfg/yolov7-lite-t.yaml``, ``cfg/yolov7-lite-s.yaml``,
``models/common.py``) and its published ncnn model ``yolov7-lite-e-opt-fp16``. One graph serves every variant:

- a stem to 1/4 resolution: lite-t/s a :class:`StemBlock`, lite-e conv 3x3 s2 + max-pool 3x3 s2;
- three ShuffleNetV2 stages (:class:`ShuffleBlock`) giving P3 (1/8), P4 (1/16) and P5 (1/32), then SPPF
  (lite-t/s only);
- a light FPN + PAN neck built of :class:`DWConvBlock`, every map ``head_channels`` wide;
- the keypoint head :class:`KeypointHead`: per level 3 anchors x 21 values (box 4, objectness, class,
  5 landmarks x (x, y, visibility)). The model returns these **raw** maps, (N, 63, H/s, W/s) for s = 8, 16, 32;
  :mod:`fasutils.detection.decoding` decodes them.

The variants differ only in the numbers of :data:`~fasutils.detection.yolov7_config.CONFIGS`. ``lite-e-0.5``
is the one whose weights are published (as ncnn files, GPL-3.0): lite-e at width 0.5, ReLU, with a single 1x1
keypoint conv.
:func:`load_ncnn` reads them at run time into this module, whose convolutions are defined in the order the
ncnn file lists them; the weights are never stored in the project. Introduced in
``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from fasutils.core.errors import DetectionError
from fasutils.core.files import atomic_output
from fasutils.detection.yolov7_config import CONFIGS, YoloV7LiteConfig
from fasutils.export.ncnn_format import NcnnLayer, read_ncnn
from fasutils.export.onnx_export import quiet_exporter

PUBLISHED_NCNN = ("yolov7face/lite-e-fp16.param", "yolov7face/lite-e-fp16.bin")  # asset names, GPL-3.0
INPUT_NAME, OUTPUT_NAMES = "images", ("stride_8", "stride_16", "stride_32")
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU}


class ConvBN(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d -> activation (None: linear). :meth:`fuse` folds the BN into the conv."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 act: type[nn.Module] | None = nn.SiLU) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03)  # YOLO's BN settings
        self.act = act() if act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold the BatchNorm (eval statistics) into the conv's weight and a new bias, as deployed files store it."""
        if isinstance(self.bn, nn.Identity):
            return
        scale = self.bn.weight / torch.sqrt(self.bn.running_var + self.bn.eps)  # (C_out,)
        fused = nn.Conv2d(self.conv.in_channels, self.conv.out_channels, self.conv.kernel_size, self.conv.stride,
                          self.conv.padding, groups=self.conv.groups, bias=True)
        fused.weight.copy_(self.conv.weight * scale[:, None, None, None])
        fused.bias.copy_(self.bn.bias - self.bn.running_mean * scale)
        self.conv, self.bn = fused, nn.Identity()


def depthwise(channels: int, stride: int, act: type[nn.Module] | None) -> ConvBN:
    """A 3x3 depthwise :class:`ConvBN`."""
    return ConvBN(channels, channels, 3, stride, groups=channels, act=act)


class StemBlock(nn.Module):
    """lite-t/s stem: conv 3x3 s2, then (1x1 to c/2 -> 3x3 s2) and max-pool 2x2 side by side, fused by a 1x1."""

    def __init__(self, c_out: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.conv = ConvBN(3, c_out, 3, 2, act=act)
        self.branch = nn.Sequential(ConvBN(c_out, c_out // 2, 1, act=act), ConvBN(c_out // 2, c_out, 3, 2, act=act))
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.fuse_conv = ConvBN(2 * c_out, c_out, 1, act=act)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)  # (N, C, H/2, W/2)
        return self.fuse_conv(torch.cat((self.branch(x), self.pool(x)), 1))  # (N, C, H/4, W/4)


class ConvPoolStem(nn.Sequential):
    """lite-e stem: conv 3x3 s2, then max-pool 3x3 s2: (N, 3, H, W) -> (N, C, H/4, W/4)."""

    def __init__(self, c_out: int, act: type[nn.Module]) -> None:
        super().__init__(ConvBN(3, c_out, 3, 2, act=act), nn.MaxPool2d(3, 2, 1))


def channel_shuffle(x: Tensor, groups: int = 2) -> Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet's shuffle)."""
    return x.unflatten(1, (groups, -1)).transpose(1, 2).flatten(1, 2)


class ShuffleBlock(nn.Module):
    """ShuffleNetV2 unit. Stride 2: both branches see the whole input and halve the map. Stride 1: the first
    half of the channels passes through, the second half goes through the branch. Then a channel shuffle."""

    def __init__(self, c_in: int, c_out: int, stride: int, act: type[nn.Module]) -> None:
        super().__init__()
        half = c_out // 2
        self.stride = stride
        if stride == 2:  # defined before `branch`: the order in which converted files list the convs
            self.shortcut = nn.Sequential(depthwise(c_in, 2, None), ConvBN(c_in, half, act=act))
        self.branch = nn.Sequential(ConvBN(c_in if stride == 2 else half, half, act=act), depthwise(half, stride, None),
                                    ConvBN(half, half, act=act))

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 2:
            out = torch.cat((self.shortcut(x), self.branch(x)), 1)  # (N, C_out, H/2, W/2)
        else:
            kept, changed = x.chunk(2, 1)
            out = torch.cat((kept, self.branch(changed)), 1)  # (N, C, H, W)
        return channel_shuffle(out)


def shuffle_stage(c_in: int, c_out: int, repeats: int, act: type[nn.Module]) -> nn.Sequential:
    """One stride-2 :class:`ShuffleBlock` then ``repeats`` stride-1 ones."""
    blocks = [ShuffleBlock(c_in, c_out, 2, act)] + [ShuffleBlock(c_out, c_out, 1, act) for _ in range(repeats)]
    return nn.Sequential(*blocks)


class SPPF(nn.Module):
    """Spatial pyramid pooling (fast): 1x1 to c/2, three chained 5x5 max-pools, concat all four, 1x1."""

    def __init__(self, channels: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.reduce = ConvBN(channels, channels // 2, act=act)
        self.pool = nn.MaxPool2d(5, 1, 2)
        self.expand = ConvBN(channels // 2 * 4, channels, act=act)

    def forward(self, x: Tensor) -> Tensor:
        pooled = [self.reduce(x)]
        for _ in range(3):
            pooled.append(self.pool(pooled[-1]))
        return self.expand(torch.cat(pooled, 1))


class DWConvBlock(nn.Sequential):
    """Depthwise 3x3 (with ``stride``) then 1x1 to ``c_out``, each with BN and activation."""

    def __init__(self, c_in: int, c_out: int, stride: int, act: type[nn.Module]) -> None:
        super().__init__(depthwise(c_in, stride, act), ConvBN(c_in, c_out, act=act))


class HeadLevel(nn.Module):
    """The head of one level: box/objectness/class conv wrapped by YOLOR's implicit add and multiply, and the
    keypoint conv. Output: [box part (3 x 6 channels), keypoint part (3 x 15 channels)]."""

    def __init__(self, channels: int, anchors: int, box_values: int, keypoint_values: int) -> None:
        super().__init__()
        self.implicit_add = nn.Parameter(torch.randn(1, channels, 1, 1) * 0.02)  # ImplicitA
        self.box = nn.Conv2d(channels, anchors * box_values, 1)
        self.implicit_mul = nn.Parameter(1 + torch.randn(1, anchors * box_values, 1, 1) * 0.02)  # ImplicitM
        self.keypoints = nn.Conv2d(channels, anchors * keypoint_values, 1)

    def forward(self, x: Tensor) -> Tensor:
        box = self.box(x + self.implicit_add) * self.implicit_mul  # (N, 3*6, h, w)
        return torch.cat((box, self.keypoints(x)), 1)  # (N, 3*21, h, w)


class KeypointHead(nn.ModuleList):
    """One :class:`HeadLevel` per stride. The 63 channels of a level are read as (3 anchors, 21 values): the
    box/keypoint split of the convs does not follow the anchors, the decoder must use this view."""

    def __init__(self, config: YoloV7LiteConfig) -> None:
        super().__init__(HeadLevel(config.head_channels, len(anchors), 5 + config.num_classes,
                                   3 * config.num_keypoints) for anchors in config.anchors)


class YoloV7LiteNet(nn.Module):
    """Backbone, neck and head; ``forward`` returns the raw maps [(N, 63, H/8, W/8), (N, 63, H/16, W/16),
    (N, 63, H/32, W/32)] for any H, W divisible by 32."""

    def __init__(self, config: YoloV7LiteConfig) -> None:
        super().__init__()
        self.config = config
        act = ACTIVATIONS[config.activation]
        (c3, n3), (c4, n4), (c5, n5) = config.stages
        h = config.head_channels
        self.stem = (StemBlock if config.stem == "stem_block" else ConvPoolStem)(config.stem_channels, act)
        self.p3 = shuffle_stage(config.stem_channels, c3, n3, act)
        self.p4 = shuffle_stage(c3, c4, n4, act)
        self.p5 = shuffle_stage(c4, c5, n5, act)
        self.sppf = SPPF(c5, act) if config.sppf else nn.Identity()
        self.lateral5 = ConvBN(c5, h, act=act)
        self.merge4 = DWConvBlock(h + c4, h, 1, act)
        self.lateral4 = ConvBN(h, h, act=act)
        self.merge3 = DWConvBlock(h + c3, h, 1, act)
        self.down3 = DWConvBlock(h, h, 2, act)
        self.out4 = DWConvBlock(h, h, 1, act)
        self.down4 = DWConvBlock(h, h, 2, act)
        self.out5 = DWConvBlock(h, h, 1, act)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = KeypointHead(config)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        p3 = self.p3(self.stem(x))  # (N, c3, H/8, W/8)
        p4 = self.p4(p3)  # (N, c4, H/16, W/16)
        top5 = self.lateral5(self.sppf(self.p5(p4)))  # (N, h, H/32, W/32)
        top4 = self.lateral4(self.merge4(torch.cat((self.up(top5), p4), 1)))  # (N, h, H/16, W/16)
        out3 = self.merge3(torch.cat((self.up(top4), p3), 1))  # (N, h, H/8, W/8)
        out4 = self.out4(self.down3(out3) + top4)  # (N, h, H/16, W/16)
        out5 = self.out5(self.down4(out4) + top5)  # (N, h, H/32, W/32)
        return tuple(level(x) for level, x in zip(self.head, (out3, out4, out5), strict=True))  # each (N, 63, H/s, W/s)

    def fuse(self) -> YoloV7LiteNet:
        """Fold every BatchNorm into its conv (for inference and for loading deployed weights); returns self."""
        for module in self.modules():
            if isinstance(module, ConvBN):
                module.fuse()
        return self


def yolov7_lite(name: str = "lite-e-0.5") -> YoloV7LiteNet:
    """A freshly initialised network of the named :data:`CONFIGS` entry."""
    if name not in CONFIGS:
        raise DetectionError(f"unknown YOLOv7-lite config {name!r}; choose one of {', '.join(CONFIGS)}")
    return YoloV7LiteNet(CONFIGS[name])


def _copy_conv(conv: nn.Conv2d, where: str, layer: NcnnLayer) -> None:
    weight = layer.weights["weight"]
    stride = layer.param(3, 1)
    if (weight.shape != tuple(conv.weight.shape) or stride != conv.stride[0]
            or (layer.type == "ConvolutionDepthWise") != (conv.groups > 1) or "bias" not in layer.weights):
        raise DetectionError(
            f"ncnn layer {layer.name} ({layer.type}, weight {weight.shape}, stride {stride}) does not fit "
            f"{where} (weight {tuple(conv.weight.shape)}, stride {conv.stride[0]}, groups {conv.groups}): the files "
            "hold another model than the configured one")
    conv.weight.copy_(torch.from_numpy(weight))
    conv.bias.copy_(torch.from_numpy(layer.weights["bias"]))


def _copy_implicit(parameter: nn.Parameter, where: str, layer: NcnnLayer) -> None:
    data = layer.weights["data"]  # (C, h, w): a per-channel constant, broadcast for one input size
    if data.ndim != 3 or data.shape[0] != parameter.shape[1] or np.ptp(data.reshape(len(data), -1), 1).max() > 0:
        raise DetectionError(f"ncnn layer {layer.name} (MemoryData {data.shape}) does not fit {where} "
                              f"({parameter.shape[1]} per-channel constants)")
    parameter.copy_(torch.from_numpy(data[:, 0, 0]).reshape(parameter.shape))


@torch.no_grad()
def load_ncnn(param: str | Path, bin_file: str | Path, config: str | YoloV7LiteConfig = "lite-e-0.5") -> YoloV7LiteNet:
    """The network of ``config`` (fused, eval mode) with the weights of an ncnn ``param``/``bin`` pair.

    The BatchNorms are folded first, as in the converted file. Convolutions are matched in order (ours are
    defined in the ncnn file's order) and checked for shape, stride and depthwise-ness; the ``MemoryData``
    blobs, which hold the implicit add/multiply constants broadcast to one input size, are reduced back to
    one value per channel, so the network runs at any input size. :class:`~fasutils.core.errors.DetectionError`
    names the first ncnn layer that does not fit.
    """
    model = YoloV7LiteNet(CONFIGS[config] if isinstance(config, str) else config).fuse().eval()
    net = read_ncnn(param, bin_file)
    convs = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    implicits = [(f"head.{i}.{kind}", getattr(level, kind))
                 for i, level in enumerate(model.head) for kind in ("implicit_add", "implicit_mul")]
    for kind, ours, layers, copy in (
            ("convolution", convs, net.of_type("Convolution", "ConvolutionDepthWise"), _copy_conv),
            ("MemoryData", implicits, net.of_type("MemoryData"), _copy_implicit)):
        for (where, target), layer in zip(ours, layers, strict=False):
            copy(target, f"{model.config.name} {where}", layer)
        if len(ours) != len(layers):
            unmatched = layers[len(ours)].name if len(layers) > len(ours) else ours[len(layers)][0]
            raise DetectionError(f"{Path(param).name} has {len(layers)} {kind} layers where {model.config.name} "
                                  f"has {len(ours)} (first unmatched: {unmatched}): the files hold another model "
                                  "than the configured one")
    return model


def published_files() -> tuple[Path, Path]:
    """The registered ncnn ``.param`` and ``.bin`` of the published lite-e-0.5 model (verified by hash)."""
    from fasutils.core import assets

    return assets.path(PUBLISHED_NCNN[0]), assets.path(PUBLISHED_NCNN[1])


def load_published() -> YoloV7LiteNet:
    """Our network with the published lite-e-0.5 weights, read from their ncnn files at run time."""
    return load_ncnn(*published_files())


def export_detector_onnx(model: YoloV7LiteNet, path: str | Path, opset: int = 18) -> Path:
    """Export the raw-output network to ONNX with free batch, height and width (multiples of 32); atomic write.

    Input ``images`` (N, 3, H, W) RGB /255; outputs ``stride_8``, ``stride_16``, ``stride_32`` (N, 63, H/s, W/s).
    """
    path = Path(path)
    model = model.eval()
    dims = {0: torch.export.Dim("batch"), 2: 32 * torch.export.Dim("height_32"),
            3: 32 * torch.export.Dim("width_32")}
    with atomic_output(path) as draft, quiet_exporter():
        torch.onnx.export(model, (torch.rand(2, 3, 288, 512),), str(draft), dynamo=True, verbose=False,
                          opset_version=opset, external_data=False, input_names=[INPUT_NAME],
                          output_names=list(OUTPUT_NAMES), dynamic_shapes={"x": dims})
    return path

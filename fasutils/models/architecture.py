"""MiniFASNet V1/V2/V1SE/V2SE and its Fourier branch, rebuilt from the published architecture.

Source: minivision-ai/Silent-Face-Anti-Spoofing, ``src/model_lib/MiniFASNet.py`` and
``src/model_lib/MultiFTNet.py`` (copied verbatim by hairymax/Face-AntiSpoofing ``src/NN.py``, with renamed
modules by johnraivenolazo/face-antispoof-onnx ``src/minifasv2/model.py``). The network is a MobileFaceNet-like
stack of depthwise-separable blocks; the four variants differ only in two things:

- the expansion widths (minivision's "keep" tables ``"1.8M"`` for V1/V1SE and ``"1.8M_"`` for V2/V2SE,
  stored here as :data:`EXPANSIONS`, one row per stage), and
- squeeze-and-excitation (the SE variants gate the last block of each residual stage with :class:`SEModule`).

The last depthwise convolution ``conv_6_dw`` spans the whole remaining map, so its kernel follows the input:
``((H + 15) // 16, (W + 15) // 16)`` (:func:`conv6_kernel`, minivision's ``src/utility.py::get_kernel``).
:class:`MultiFTNet` adds the Fourier generator, which reads the ``conv_4`` map (input / 8) and predicts the
log-spectrum target of :mod:`fasutils.spectral.fourier` during training. Module names follow the published ones
(``conv1``, ``conv2_dw``, ``conv_23`` ... ``conv_6_dw``, ``linear``, ``bn``, ``drop``, ``prob``, ``model.N``,
``se_module.fc1`` ...) so that :mod:`fasutils.models.weights` maps published state dicts by prefix rules alone.
Parameter and MAC counts live in :mod:`fasutils.models.summaries`.

Introduced in ``02_minifasnet_architecture.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from torch import Tensor, nn

from fasutils.core.errors import ModelError, positive_int

# Expansion width of every depthwise-separable block, stage by stage. "1.8M" and "1.8M_" are the names of
# minivision's keep_dict entries; they differ only in conv_3 and conv_4. keep_list() rebuilds the published lists.
EXPANSIONS: dict[str, dict[str, tuple[int, ...]]] = {
    "1.8M": {"conv_23": (103,), "conv_3": (13, 26, 13, 52), "conv_34": (231,),
             "conv_4": (154, 52, 26, 52, 26, 26), "conv_45": (308,), "conv_5": (26, 26)},
    "1.8M_": {"conv_23": (103,), "conv_3": (13, 13, 13, 13), "conv_34": (231,),
              "conv_4": (231, 52, 26, 77, 26, 26), "conv_45": (308,), "conv_5": (26, 26)},
}
# name, output channels, stride. Stride 2: one depthwise block halving the map (no residual).
# Stride 1: a residual stage, one block per expansion width.
STAGES: tuple[tuple[str, int, int], ...] = (
    ("conv_23", 64, 2), ("conv_3", 64, 1), ("conv_34", 128, 2),
    ("conv_4", 128, 1), ("conv_45", 128, 2), ("conv_5", 128, 1),
)
STEM_CHANNELS = 32  # conv1 and conv2_dw
SEP_CHANNELS = 512  # conv_6_sep and conv_6_dw
FOURIER_CHANNELS = 128  # conv_4 output, the Fourier generator's input
SE_REDUCTION = 4  # what minivision's ResidualSE passes (the Depth_Wise_SE default of 8 is never used)
# The classifier's parameterised modules in forward order (attributes of MiniFASNet): what a fine-tune can freeze.
CLASSIFIER_STAGES: tuple[str, ...] = ("conv1", "conv2_dw", *(name for name, _, _ in STAGES), "conv_6_sep",
                                      "conv_6_dw", "linear", "bn", "prob")


class Variant(NamedTuple):
    """One published MiniFASNet variant."""

    widths: str  # key of EXPANSIONS
    se: bool  # SE gate on the last block of each residual stage
    dropout: float  # minivision's factory default before the last linear layer


VARIANTS: dict[str, Variant] = {
    "V1": Variant("1.8M", False, 0.2),
    "V2": Variant("1.8M_", False, 0.2),
    "V1SE": Variant("1.8M", True, 0.75),
    "V2SE": Variant("1.8M_", True, 0.75),
}


def conv6_kernel(input_size: tuple[int, int]) -> tuple[int, int]:
    """Kernel of ``conv_6_dw`` for an input of (height, width): ``((H + 15) // 16, (W + 15) // 16)``.

    It equals the ``conv_5`` map (four stride-2 layers, each rounding up), so the layer reduces it to 1x1.
    80x80 gives (5, 5), 128x128 (8, 8), 80x60 (5, 4).
    """
    height, width = input_size
    return (height + 15) // 16, (width + 15) // 16


def keep_list(widths: str) -> list[int]:
    """Minivision's flat 49-entry "keep" list for ``widths`` ("1.8M" or "1.8M_"), rebuilt from :data:`EXPANSIONS`.

    Each depthwise block contributes (expansion, expansion, output channels); the stem and the head two each.
    """
    keep = [STEM_CHANNELS, STEM_CHANNELS]
    for name, out_channels, _ in STAGES:
        for expansion in EXPANSIONS[widths][name]:
            keep += [expansion, expansion, out_channels]
    return keep + [SEP_CHANNELS, SEP_CHANNELS]


@dataclass(frozen=True)
class MiniFASNetConfig:
    """Everything that decides a MiniFASNet's shape (validated on creation)."""

    variant: str = "V2SE"  # one of VARIANTS
    input_size: tuple[int, int] = (80, 80)  # (height, width) of the face crop
    num_classes: int = 3
    embedding_size: int = 128
    dropout: float | None = None  # None: the variant's published default (0.2 V1/V2, 0.75 SE variants)
    with_fourier: bool = True  # build the Fourier generator (used in training only)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ModelError(f"variant must be one of {', '.join(VARIANTS)}, not {self.variant!r}")
        size = self.input_size
        if not (isinstance(size, tuple) and len(size) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in size)):
            raise ModelError(f"input_size must be (height, width), a tuple of two positive ints, not {size!r}")
        for name in ("num_classes", "embedding_size"):
            positive_int(getattr(self, name), name, ModelError)
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ModelError(f"dropout must be in [0, 1) or None, not {self.dropout!r}")

    @property
    def drop_p(self) -> float:
        """The dropout probability used: ``dropout``, else the variant's published default."""
        return VARIANTS[self.variant].dropout if self.dropout is None else self.dropout

    @property
    def kernel(self) -> tuple[int, int]:
        """``conv_6_dw`` kernel for ``input_size`` (see :func:`conv6_kernel`)."""
        return conv6_kernel(self.input_size)


class LinearBlock(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d, no activation (minivision's ``Linear_block``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int | tuple[int, int] = 1, stride: int = 1,
                 padding: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class ConvBlock(LinearBlock):
    """Conv2d (no bias) -> BatchNorm2d -> per-channel PReLU (minivision's ``Conv_block``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int | tuple[int, int] = 1, stride: int = 1,
                 padding: int = 0, groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel, stride, padding, groups)
        self.prelu = nn.PReLU(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.prelu(super().forward(x))


class SEModule(nn.Module):
    """Squeeze-and-excitation as minivision publishes it: a per-channel gate in (0, 1) from the channel means.

    Deviations from the paper's SE (Hu et al., arXiv:1709.01507): the two 1x1 convolutions have no bias
    and each is followed by a BatchNorm2d; the reduction used is 4.
    """

    def __init__(self, channels: int, reduction: int = SE_REDUCTION) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // reduction)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.sigmoid = nn.Sigmoid()

    def gate(self, x: Tensor) -> Tensor:
        """The per-channel gate, (B, C, 1, 1) in (0, 1)."""
        squeezed = self.avg_pool(x)  # (B, C, 1, 1)
        hidden = self.relu(self.bn1(self.fc1(squeezed)))  # (B, C/r, 1, 1)
        return self.sigmoid(self.bn2(self.fc2(hidden)))  # (B, C, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)  # (B, C, H, W)


class DepthWise(nn.Module):
    """Depthwise-separable block: 1x1 expand, 3x3 depthwise (with ``stride``), 1x1 linear projection.

    ``se`` gates the projection with :class:`SEModule`; ``residual`` then adds the input (stride 1 and equal
    channels only). Minivision's ``Depth_Wise`` / ``Depth_Wise_SE``.
    """

    def __init__(self, in_channels: int, expansion: int, out_channels: int, stride: int = 1,
                 residual: bool = False, se: bool = False) -> None:
        super().__init__()
        if residual and (stride != 1 or in_channels != out_channels):
            raise ModelError(f"a residual block needs stride 1 and equal channels, not stride {stride}, "
                             f"{in_channels} -> {out_channels}")
        self.residual = residual
        self.conv = ConvBlock(in_channels, expansion, 1)
        self.conv_dw = ConvBlock(expansion, expansion, 3, stride, 1, groups=expansion)
        self.project = LinearBlock(expansion, out_channels, 1)
        self.se_module = SEModule(out_channels) if se else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv_dw(self.conv(x))  # (B, E, H/stride, W/stride)
        y = self.se_module(self.project(y))  # (B, C_out, H/stride, W/stride)
        return x + y if self.residual else y


class ResidualStage(nn.Module):
    """Residual depthwise blocks at constant width, one per expansion; with ``se`` the last one is gated."""

    def __init__(self, channels: int, expansions: tuple[int, ...], se: bool = False) -> None:
        super().__init__()
        last = len(expansions) - 1
        self.model = nn.Sequential(*(DepthWise(channels, expansion, channels, residual=True, se=se and i == last)
                                     for i, expansion in enumerate(expansions)))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def init_weights(module: nn.Module) -> None:
    """Minivision's initialisation: convs kaiming-normal (fan_out, relu), norms 1/0, linear normal(std 0.001)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(layer.weight)
        elif isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=0.001)
        else:
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


class MiniFASNet(nn.Module):
    """The classifier: ``forward_features`` gives the (B, 512) descriptor, ``forward_head`` the logits.

    ``forward_trunk`` stops at ``conv_4`` (B, 128, H/8, W/8), the map the Fourier branch reads. No softmax:
    the model returns logits.
    """

    def __init__(self, config: MiniFASNetConfig) -> None:
        super().__init__()
        self.config = config
        variant = VARIANTS[config.variant]
        self.conv1 = ConvBlock(3, STEM_CHANNELS, 3, 2, 1)
        self.conv2_dw = ConvBlock(STEM_CHANNELS, STEM_CHANNELS, 3, 1, 1, groups=STEM_CHANNELS)
        channels = STEM_CHANNELS
        for name, out_channels, stride in STAGES:
            expansions = EXPANSIONS[variant.widths][name]
            stage = (DepthWise(channels, expansions[0], out_channels, stride) if stride == 2
                     else ResidualStage(out_channels, expansions, se=variant.se))
            self.add_module(name, stage)
            channels = out_channels
        self.conv_6_sep = ConvBlock(channels, SEP_CHANNELS, 1)
        self.conv_6_dw = LinearBlock(SEP_CHANNELS, SEP_CHANNELS, config.kernel, groups=SEP_CHANNELS)
        self.conv_6_flatten = nn.Flatten()
        self.linear = nn.Linear(SEP_CHANNELS, config.embedding_size, bias=False)
        self.bn = nn.BatchNorm1d(config.embedding_size)
        self.drop = nn.Dropout(config.drop_p)
        self.prob = nn.Linear(config.embedding_size, config.num_classes, bias=False)
        init_weights(self)

    def check_input(self, x: Tensor) -> None:
        """Raise :class:`ModelError`, naming the tensor, unless it is float (B, 3, H, W) of a fitting size."""
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 3 or not x.dtype.is_floating_point:
            described = f"{x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ModelError(f"MiniFASNet input must be a float (B, 3, H, W) tensor, not a {described}")
        if conv6_kernel(tuple(x.shape[-2:])) != self.config.kernel:
            raise ModelError(f"MiniFASNet input of size {tuple(x.shape[-2:])} does not fit this model, built for "
                             f"{self.config.input_size} (final kernel {self.config.kernel})")

    def forward_trunk(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> the ``conv_4`` map (B, 128, H/8, W/8), sizes rounded up."""
        self.check_input(x)
        x = self.conv2_dw(self.conv1(x))  # (B, 32, H/2, W/2)
        x = self.conv_3(self.conv_23(x))  # (B, 64, H/4, W/4)
        return self.conv_4(self.conv_34(x))  # (B, 128, H/8, W/8)

    def forward_neck(self, trunk: Tensor) -> Tensor:
        """The ``conv_4`` map -> the (B, 512) descriptor."""
        x = self.conv_5(self.conv_45(trunk))  # (B, 128, H/16, W/16)
        x = self.conv_6_dw(self.conv_6_sep(x))  # (B, 512, 1, 1)
        return self.conv_6_flatten(x)  # (B, 512)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> the (B, 512) descriptor before the embedding layer."""
        return self.forward_neck(self.forward_trunk(x))

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, 512) -> logits (B, num_classes), or with ``pre_logits`` the (B, embedding) vector after dropout."""
        x = self.drop(self.bn(self.linear(features)))  # (B, embedding)
        return x if pre_logits else self.prob(x)  # (B, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


class FourierGenerator(nn.Module):
    """Predicts the Fourier target from the ``conv_4`` map: three 3x3 convs 128 -> 128 -> 64 -> 1, each + BN + ReLU.

    The output is >= 0 and keeps the input's spatial size: (B, 1, 10, 10) at 80x80, (B, 1, 16, 16) at 128x128.
    The indices of ``ft`` (0, 1, 3, 4, 6, 7 hold weights) are the published ones.
    """

    def __init__(self, in_channels: int = FOURIER_CHANNELS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in ((in_channels, 128), (128, 64), (64, 1)):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.ft = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.ft(x)  # (B, 1, H/8, W/8)


class MultiFTNet(nn.Module):
    """MiniFASNet with its optional Fourier branch: ``(logits, fourier_map)`` in training, logits in eval.

    ``model`` is the :class:`MiniFASNet` classifier, ``FTGenerator`` the :class:`FourierGenerator` (None when
    ``config.with_fourier`` is False; then training also returns logits only). The attribute names are the
    published ones, so a hairymax state dict maps by dropping its ``module.`` prefix.
    """

    def __init__(self, config: MiniFASNetConfig) -> None:
        super().__init__()
        self.config = config
        self.model = MiniFASNet(config)
        self.FTGenerator = FourierGenerator(FOURIER_CHANNELS) if config.with_fourier else None

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> the (B, 512) descriptor (see :meth:`MiniFASNet.forward_features`)."""
        return self.model.forward_features(x)

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """(B, 512) -> logits (see :meth:`MiniFASNet.forward_head`)."""
        return self.model.forward_head(features, pre_logits)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        trunk = self.model.forward_trunk(x)  # (B, 128, H/8, W/8)
        logits = self.model.forward_head(self.model.forward_neck(trunk))  # (B, num_classes)
        if self.training and self.FTGenerator is not None:
            return logits, self.FTGenerator(trunk)  # (B, num_classes), (B, 1, H/8, W/8)
        return logits


def minifasnet(variant: str = "V2SE", input_size: tuple[int, int] = (80, 80), num_classes: int = 3,
               **options: object) -> MultiFTNet:
    """Build a freshly initialised :class:`MultiFTNet`; ``options`` are the other :class:`MiniFASNetConfig` fields."""
    return MultiFTNet(MiniFASNetConfig(variant=variant, input_size=tuple(input_size), num_classes=num_classes,
                                       **options))

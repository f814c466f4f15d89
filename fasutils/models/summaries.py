"""What a network costs and what it does inside: learnable parameters, multiply-accumulates, a per-layer table
and the channel gates of the SE modules, all measured by forward hooks on one probe image in eval mode.

Works on any module; :func:`layer_table` knows :class:`~fasutils.models.architecture.MultiFTNet`'s Fourier branch.
Introduced in ``02_minifasnet_architecture.ipynb``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from fasutils.core.errors import ModelError
from fasutils.models.architecture import MiniFASNet, MultiFTNet, SEModule, conv6_kernel


def count_parameters(module: nn.Module) -> int:
    """Learnable parameters (BatchNorm running statistics excluded). Pass ``net.model`` for the classifier alone."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _macs(layer: nn.Module, output: Tensor) -> int:
    """Multiply-accumulates of one Conv2d or Linear for one image, from its output (batch first)."""
    if isinstance(layer, nn.Conv2d):
        kernel_h, kernel_w = layer.kernel_size
        return output[0].numel() * (layer.in_channels // layer.groups) * kernel_h * kernel_w
    if isinstance(layer, nn.Linear):
        return output[0].numel() * layer.in_features
    return 0


def _run_hooked(net: nn.Module, x: Tensor, watched: dict[str, nn.Module]) -> dict[str, Tensor]:
    """Run ``net(x)`` in eval mode without gradients; return the output of every watched module by name."""
    outputs: dict[str, Tensor] = {}
    handles = [module.register_forward_hook(lambda _m, _i, out, name=name: outputs.__setitem__(name, out))
               for name, module in watched.items()]
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(x)
    finally:
        net.train(was_training)
        for handle in handles:
            handle.remove()
    return outputs


def _counted_layers(net: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def _probe(model: nn.Module, input_size: tuple[int, int]) -> Tensor:
    config = getattr(model, "config", None)
    if config is not None and conv6_kernel(input_size) != config.kernel:
        raise ModelError(f"this model was built for {config.input_size[0]}x{config.input_size[1]} inputs "
                         f"(conv_6_dw kernel {config.kernel}); a {input_size[0]}x{input_size[1]} input needs "
                         f"kernel {conv6_kernel(input_size)}: build a model for that size")
    height, width = input_size
    return torch.zeros(1, 3, height, width)  # (1, 3, H, W)


def count_macs(model: nn.Module, input_size: tuple[int, int]) -> int:
    """Conv2d + Linear multiply-accumulates of one (height, width) image through ``model`` in eval mode.

    The Fourier branch runs only in training, so it is not counted. FLOPs are about twice this number.
    """
    layers = _counted_layers(model)
    outputs = _run_hooked(model, _probe(model, input_size), layers)
    return sum(_macs(layers[name], out) for name, out in outputs.items())


class LayerRow(NamedTuple):
    """One row of :func:`layer_table` (``pandas.DataFrame(rows)`` takes the field names as columns)."""

    name: str
    output_shape: tuple[int, ...]  # without the batch dimension
    params: int
    macs: int


def _rows(net: nn.Module, x: Tensor, children: dict[str, nn.Module]) -> list[LayerRow]:
    layers = _counted_layers(net)
    outputs = _run_hooked(net, x, {**children, **layers})
    rows = []
    for name, child in children.items():
        inside = {id(module) for module in child.modules()}
        macs = sum(_macs(layer, outputs[key]) for key, layer in layers.items()
                   if id(layer) in inside and key in outputs)
        rows.append(LayerRow(name, tuple(outputs[name].shape[1:]), count_parameters(child), macs))
    return rows


def layer_table(model: MiniFASNet | MultiFTNet, input_size: tuple[int, int]) -> list[LayerRow]:
    """Per top-level layer of the classifier: output shape, learnable parameters and MACs for one image.

    For a :class:`MultiFTNet` with a Fourier branch a last row ``FTGenerator`` follows, run on the ``conv_4``
    output (it costs MACs in training only).
    """
    classifier = model.model if isinstance(model, MultiFTNet) else model
    rows = _rows(classifier, _probe(classifier, input_size), dict(classifier.named_children()))
    generator = getattr(model, "FTGenerator", None)
    if generator is not None:
        trunk = _run_hooked(classifier, _probe(classifier, input_size), {"conv_4": classifier.conv_4})["conv_4"]
        rows += _rows(generator, trunk, {"FTGenerator": generator})
    return rows


def se_gates(model: nn.Module, inputs: Tensor) -> dict[str, Tensor]:
    """The channel weights every SE module applies for ``inputs``: ``{module name: (B, C)}``.

    Runs like :func:`count_macs`: in eval mode without gradients, the model's mode restored afterwards, so
    BatchNorm running statistics stay as they were. Each gate is read from the SE module's final sigmoid.
    """
    watched = {name: module.sigmoid for name, module in model.named_modules() if isinstance(module, SEModule)}
    return {name: gate.flatten(1) for name, gate in _run_hooked(model, inputs, watched).items()}

"""Fine-tuning from a published checkpoint: the start model, the frozen stages and the pull back to the source.

:func:`start_model` builds the model a run trains: freshly initialised, or (``TrainConfig.init_from``) carrying
the weights of a published MiniFASNet under a licence that allows a derived model to be shipped (Apache-2.0:
minivision's and johnraivenolazo's; hairymax publishes no licence, so its files stay comparison-only).

- **One input convention for every suite model.** A source that reads BGR 0-255 (minivision) has its convention
  folded exactly into the first convolution: its input channels reversed and its weights multiplied by 255, so
  the model takes RGB / 255 like every suite model (the convolution is linear and has no bias; zero padding
  stays zero). The crop is the source's own: ``TrainConfig.crop`` must be it.
- **The head** keeps the source's classes, reordered so that live comes first (the suite's convention); training
  pools the spoof classes (P(spoof) is the sum of their softmax), so the start model scores exactly as the source
  (minivision has two spoof classes, "2D" and "3D", and its real print and replay samples land mostly on "3D").
- **The Fourier branch** is always fresh: the published inference checkpoints do not carry one.
- **Frozen stages** (``TrainConfig.freeze``, names of
  :data:`~fasutils.models.architecture.CLASSIFIER_STAGES`) keep their weights and, with
  :func:`hold_frozen`, their BatchNorm statistics.
- **Guards against forgetting**: :class:`Anchor` is the L2-SP penalty ``sum ||w - w_source||^2`` over the
  transferred weights (Li, Grandvalet & Davoine, "Explicit Inductive Bias for Transfer Learning with Convolutional
  Networks", ICML 2018), weighted by ``TrainConfig.anchor_weight``; after training, :func:`interpolate_weights`
  blends the fine-tune back towards its source (WiSE-FT).

Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from fasutils.core.errors import TrainingError
from fasutils.models.architecture import MultiFTNet
from fasutils.models.published import PUBLISHED, load
from fasutils.models.weights import LoadedWeights
from fasutils.training.config import TrainConfig

SHIPPABLE_LICENCES = ("Apache-2.0",)  # a model fine-tuned from these may be shipped with its card (Apache-2.0 §4)


@dataclass(frozen=True)
class Anchor:
    """The source's weights a fine-tuned model is pulled back to (L2-SP); parameter name -> tensor."""

    weights: dict[str, Tensor]

    def penalty(self, model: nn.Module) -> Tensor:
        """``sum ||w - w_source||^2`` over the anchored parameters of ``model`` (a scalar tensor)."""
        parameters = dict(model.named_parameters())
        return sum(((parameters[name] - source) ** 2).sum() for name, source in self.weights.items())


def source_licence(name: str) -> str:
    """The licence of a published model's weights file, from the asset registry."""
    from fasutils.core import assets

    return assets.get(PUBLISHED[name].weights).licence


def check_source(config: TrainConfig, source: LoadedWeights) -> None:
    """Raise :class:`TrainingError` unless ``config.init_from`` names a published model the suite may fine-tune
    into a shipped model (``source``, loaded) with this configuration's variant, input size and crop."""
    licence = source_licence(config.init_from)
    if not licence.startswith(SHIPPABLE_LICENCES):
        allowed = [name for name in PUBLISHED if source_licence(name).startswith(SHIPPABLE_LICENCES)]
        raise TrainingError(f"{config.init_from!r} is published under {licence!r}: a model fine-tuned from it could "
                            f"not be shipped; fine-tune from one of {', '.join(map(repr, allowed))}")
    crop = PUBLISHED[config.init_from].convention.crop.name
    wanted = {"variant": source.variant, "input_size": source.input_size[0], "crop": crop}
    wrong = {key: value for key, value in wanted.items() if getattr(config, key) != value}
    if wrong or source.input_size[0] != source.input_size[1]:
        raise TrainingError(f"{config.init_from!r} is a MiniFASNet{source.variant} for {source.input_size} crops "
                            f"of the {crop!r} convention; this configuration has "
                            + ", ".join(f"{key}={getattr(config, key)!r}" for key in wrong)
                            + ": set " + ", ".join(f"{key}={value!r}" for key, value in wrong.items()))


def _source(name: str) -> LoadedWeights:
    """The published model ``name`` (a fresh copy), or :class:`TrainingError` naming the ones there are."""
    if name not in PUBLISHED:
        raise TrainingError(f"init_from must name a published model ({', '.join(map(repr, PUBLISHED))}), "
                            f"not {name!r}")
    return load(name)


def fine_tune_config(init_from: str, **options: object) -> TrainConfig:
    """A :class:`TrainConfig` fine-tuning the published model ``init_from``: its variant, input size, crop and
    classes are the source's; ``options`` set the rest (learning rate, epochs, ``anchor_weight``, ``freeze`` ...)."""
    source = _source(init_from)
    return TrainConfig(variant=source.variant, input_size=source.input_size[0], num_classes=source.num_classes,
                       crop=PUBLISHED[init_from].convention.crop.name, init_from=init_from, **options)


def _fold_convention(first_conv: Tensor, colour_order: str, scale: float) -> Tensor:
    """First-convolution weights (out, 3, k, k) that take RGB / 255 where the source took ``colour_order`` x
    ``scale``: input x_source = (x_rgb x 255) x scale, channels reversed for BGR."""
    folded = first_conv * (255.0 * scale)
    return folded.flip(1) if colour_order == "bgr" else folded


def _live_first(classes: int, live_index: int) -> list[int]:
    """The source's output rows reordered so that live comes first (the suite's convention), the rest in order."""
    return [live_index, *(index for index in range(classes) if index != live_index)]


def start_model(config: TrainConfig) -> tuple[MultiFTNet, Anchor | None]:
    """The model a run of ``config`` starts from, and the anchor of its transferred weights (None from scratch).

    Seeds are the caller's: the fresh parts (the whole model from scratch; the Fourier branch when fine-tuning)
    are drawn from torch's global generator.
    """
    model = config.build_model()
    if not config.init_from:
        return model, None
    source = _source(config.init_from)
    check_source(config, source)
    convention = PUBLISHED[config.init_from].convention
    state = {key: value.clone() for key, value in source.model.model.state_dict().items()}
    state["conv1.conv.weight"] = _fold_convention(state["conv1.conv.weight"], convention.color_order,
                                                  convention.scale)
    if source.num_classes != config.num_classes:
        raise TrainingError(f"init_from {config.init_from!r} has {source.num_classes} classes {convention.classes}; "
                            f"a fine-tune keeps them (live first, spoof classes pooled): set "
                            f"num_classes={source.num_classes}")
    state["prob.weight"] = state["prob.weight"][_live_first(len(convention.classes), convention.live_index)]
    model.model.load_state_dict(state)
    anchored = {f"model.{name}": parameter.detach().clone()
                for name, parameter in model.model.named_parameters()}
    return model, Anchor(anchored)


def frozen_modules(model: MultiFTNet, names: Iterable[str]) -> list[nn.Module]:
    """The classifier's stages named ``names`` (checked against ``CLASSIFIER_STAGES`` by the configuration)."""
    return [getattr(model.model, name) for name in names]


def freeze(model: MultiFTNet, names: Iterable[str]) -> None:
    """Stop gradients in the named stages (their BatchNorm statistics: see :func:`hold_frozen`)."""
    for module in frozen_modules(model, names):
        module.requires_grad_(False)


def hold_frozen(model: MultiFTNet, names: Iterable[str]) -> None:
    """Put the named stages in eval mode, so a training pass leaves their BatchNorm statistics as they are."""
    for module in frozen_modules(model, names):
        module.eval()


def anchor_distance(model: nn.Module, anchor: Anchor) -> float:
    """The root of the L2-SP penalty: how far the weights moved from the source (0 at the start)."""
    with torch.no_grad():
        return float(anchor.penalty(model)) ** 0.5


def interpolate_weights(source: Mapping[str, Tensor], tuned: Mapping[str, Tensor], alpha: float) -> dict[str, Tensor]:
    """``(1 - alpha) x source + alpha x tuned`` for every floating-point tensor (weights and BatchNorm statistics;
    counters come from ``tuned``): WiSE-FT, the weight-space ensemble of a model and its fine-tuned self (Wortsman
    et al., "Robust fine-tuning of zero-shot models", CVPR 2022), which keeps much of the source's robustness to
    data unlike the fine-tuning data while taking part of the fine-tuning's gain."""
    if not 0.0 <= alpha <= 1.0:
        raise TrainingError(f"alpha must lie in [0, 1], not {alpha}")
    if source.keys() != tuned.keys():
        raise TrainingError("the two models have different tensors: interpolate a fine-tune with its own source")
    return {key: torch.lerp(source[key], tuned[key], alpha) if tuned[key].is_floating_point() else tuned[key].clone()
            for key in tuned}


def interpolated_models(source: Path, tuned: Path, alphas: Iterable[float], folder: Path) -> dict[float, Path]:
    """For each ``alpha``, the :func:`interpolate_weights` of two models written by ``save_for_inference`` (the
    source as a start model, and its fine-tune), saved to ``folder/wise_<alpha>.pt`` with the fine-tune's ``.json``."""
    from fasutils.training.checkpoints import atomic_save

    states = [torch.load(path, map_location="cpu", weights_only=True) for path in (source, tuned)]
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for alpha in alphas:
        path = folder / f"wise_{alpha:g}.pt"
        atomic_save(interpolate_weights(*states, alpha), path)
        shutil.copyfile(tuned.with_suffix(".json"), path.with_suffix(".json"))
        written[alpha] = path
    return written

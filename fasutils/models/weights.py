"""Load published MiniFASNet weights into :class:`fasutils.models.architecture.MultiFTNet`, strictly.

Three published layouts are recognised (as the files themselves hold them), plus our own:

- ``minivision``: a flat state dict in the legacy (pre-1.6) torch format, keys ``module.<classifier>``, no
  Fourier branch; ``module.`` becomes ``model.`` (minivision-ai/Silent-Face-Anti-Spoofing,
  ``resources/anti_spoof_models/*.pth``).
- ``hairymax``: a flat state dict, keys ``module.model.*`` and ``module.FTGenerator.ft.*``; ``module.`` is dropped
  (hairymax/Face-AntiSpoofing, ``saved_models/*.pth``).
- ``johnraivenolazo``: a dict whose ``model_state_dict`` holds keys ``model.*`` (with ``model.logits`` for
  ``prob``) and ``FTGenerator.fourier_transform.*``; ``logits`` becomes ``prob``, ``fourier_transform`` ``ft``
  (johnraivenolazo/face-antispoof-onnx, ``models/best/98.20/best_model.pth``; module names from
  ``src/minifasv2/model.py``).
- ``fasutils``: a flat ``MultiFTNet.state_dict()`` (what our training saves), used as it is.

The rest is read from the tensors: V1 or V2 from the expansion widths, SE from ``se_module`` keys, the class
count from ``prob``, the Fourier branch from ``FTGenerator`` keys and the input size from the ``conv_6_dw``
kernel. The kernel fixes the size only up to the rule ``k = (s + 15) // 16``: a 5x5 kernel fits any side from
65 to 80 px. The size reported is 16 x k (80x80 for 5x5, 128x128 for 8x8), the one every published model was
trained at; pass ``input_size`` to state another size with the same kernel.

Every key must be used and every parameter filled (``load_state_dict(strict=True)``); otherwise
:class:`ModelError` lists the missing and unexpected keys. Files are read with ``weights_only=True``, so
nothing but tensors and plain containers is ever unpickled.

Introduced in ``02_minifasnet_architecture.ipynb``.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor

from fasutils.core.errors import ModelError
from fasutils.models.architecture import (
    EXPANSIONS,
    STAGES,
    VARIANTS,
    MiniFASNetConfig,
    MultiFTNet,
    conv6_kernel,
)

# family -> (published prefix, our prefix); the first matching prefix renames a key, a key matching none is kept
# as it is (and then reported as unexpected by the strict load).
RENAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "minivision": (("module.", "model."),),
    "hairymax": (("module.model.", "model."), ("module.FTGenerator.", "FTGenerator.")),
    "johnraivenolazo": (("model.logits.", "model.prob."), ("model.dropout.", "model.drop."),
                        ("FTGenerator.fourier_transform.", "FTGenerator.ft.")),
    "fasutils": (),
}
FAMILIES = tuple(RENAMES)
CONTAINER_KEY = "model_state_dict"  # johnraivenolazo's checkpoints wrap the state dict
SHOWN_KEYS = 5  # how many keys an error lists from each group


@dataclass(frozen=True)
class LoadedWeights:
    """A model with published weights, in eval mode, and what was inferred about it."""

    model: MultiFTNet
    family: str  # one of FAMILIES
    variant: str  # V1, V2, V1SE or V2SE
    input_size: tuple[int, int]  # (height, width)
    num_classes: int
    has_fourier: bool  # the file holds the Fourier branch (model.FTGenerator is then loaded, else None)
    source: Path


def _key_list(keys: list[str]) -> str:
    """The count and the first few keys, e.g. "3 (a, b, c)"."""
    shown = ", ".join(keys[:SHOWN_KEYS])
    return f"{len(keys)} ({shown}{', ...' if len(keys) > SHOWN_KEYS else ''})"


def _plain_state(obj: object, file: Path, where: str) -> dict[str, Tensor]:
    if not isinstance(obj, Mapping):
        raise ModelError(f"{file}: {where} is a {type(obj).__name__}, not a state dict (a dict of tensors)")
    if not obj:
        raise ModelError(f"{file}: {where} is an empty dict; there are no weights in it")
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise ModelError(f"{file}: {where} is not a plain state dict: entry {key!r} holds a "
                             f"{type(value).__name__}, not a tensor")
    return dict(obj)


def read_state_dict(path: str | Path) -> tuple[str, dict[str, Tensor]]:
    """The family and the published state dict of a weights file, read with ``weights_only=True`` on the CPU.

    Accepts a plain dict of tensors, or a dict whose ``model_state_dict`` is one (johnraivenolazo; its other
    entries are ignored). A missing, empty, truncated or corrupt file, or one holding other objects, raises
    :class:`ModelError` naming the file.
    """
    file = Path(path)
    if not file.is_file():
        raise ModelError(f"weights file not found: {file}")
    if file.stat().st_size == 0:
        raise ModelError(f"{file} is empty (0 bytes): an interrupted download or copy? Fetch it again")
    try:
        obj = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights only" not in str(error).lower():
            raise ModelError(f"{file} is not a readable torch file (truncated or corrupt?): {error}") from None
        lines = [line.strip() for line in str(error).splitlines()]
        first_line = next((line for line in lines if line.startswith("WeightsUnpickler error")), lines[0])
        raise ModelError(f"{file} holds Python objects other than tensors, which are never unpickled here "
                         f"(weights_only=True refused: {first_line}). Save a plain state dict "
                         "(model.state_dict()) instead") from None
    except Exception as error:  # torch.load raises RuntimeError, EOFError, struct.error, KeyError ... on bad bytes
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(f"{file} is not a readable torch file (truncated or corrupt?): {reason}") from None
    if isinstance(obj, Mapping) and CONTAINER_KEY in obj:
        return "johnraivenolazo", _plain_state(obj[CONTAINER_KEY], file, f"its {CONTAINER_KEY!r}")
    state = _plain_state(obj, file, "its content")
    return detect_family(state, file), state


def detect_family(state: Mapping[str, Tensor], file: str | Path = "state dict") -> str:
    """The layout of a flat state dict, from its key prefixes: minivision, hairymax or fasutils (our own).

    (A johnraivenolazo file is recognised by its container in :func:`read_state_dict`.)
    """
    keys = list(state)
    if all(key.startswith("module.") for key in keys):
        return "hairymax" if any(key.startswith("module.model.") for key in keys) else "minivision"
    if all(key.startswith(("model.", "FTGenerator.")) for key in keys):
        return "fasutils"
    raise ModelError(f"{file}: not a MiniFASNet state dict in any known layout (keys module.*, module.model.* "
                     f"or model.*); its keys: {_key_list(keys)}")


def to_our_keys(state: Mapping[str, Tensor], family: str) -> dict[str, Tensor]:
    """``state`` with its keys renamed from ``family``'s layout to :class:`MultiFTNet`'s (see :data:`RENAMES`)."""
    if family not in RENAMES:
        raise ModelError(f"unknown weights family {family!r}; known: {', '.join(FAMILIES)}")
    renamed = {}
    for key, tensor in state.items():
        for old, new in RENAMES[family]:
            if key.startswith(old):
                key = new + key[len(old):]
                break
        renamed[key] = tensor
    return renamed


def _shape(state: Mapping[str, Tensor], key: str, file: str | Path) -> tuple[int, ...]:
    if key not in state:
        raise ModelError(f"{file}: not a MiniFASNet checkpoint: it lacks {key!r} (after renaming to our keys)")
    return tuple(state[key].shape)


def _expansions(state: Mapping[str, Tensor], file: str | Path) -> dict[str, tuple[int, ...]]:
    """Expansion width of every depthwise block, read from the 1x1 expand convolutions."""
    found = {}
    for name, _, stride in STAGES:
        if stride == 2:
            found[name] = (_shape(state, f"model.{name}.conv.conv.weight", file)[0],)
            continue
        widths, index = [], 0
        while f"model.{name}.model.{index}.conv.conv.weight" in state:
            widths.append(state[f"model.{name}.model.{index}.conv.conv.weight"].shape[0])
            index += 1
        found[name] = tuple(widths)
    return found


def infer_config(state: Mapping[str, Tensor], file: str | Path = "state dict") -> MiniFASNetConfig:
    """The :class:`MiniFASNetConfig` a state dict in our key layout was saved from (input size: 16 x kernel)."""
    expansions = _expansions(state, file)
    widths = [name for name, table in EXPANSIONS.items() if table == expansions]
    if not widths:
        raise ModelError(f"{file}: its expansion widths {expansions} match no MiniFASNet variant "
                         f"(known: {EXPANSIONS}); another architecture?")
    se = any(".se_module." in key for key in state)
    variant = next(name for name, spec in VARIANTS.items() if spec.widths == widths[0] and spec.se == se)
    kernel = _shape(state, "model.conv_6_dw.conv.weight", file)[2:]
    classes, embedding = _shape(state, "model.prob.weight", file)
    return MiniFASNetConfig(variant=variant, input_size=(16 * kernel[0], 16 * kernel[1]), num_classes=classes,
                            embedding_size=embedding, with_fourier=any(k.startswith("FTGenerator.") for k in state))


def _check_request(config: MiniFASNetConfig, file: Path, num_classes: int | None, variant: str | None,
                   input_size: tuple[int, int] | None) -> MiniFASNetConfig:
    if num_classes is not None and num_classes != config.num_classes:
        raise ModelError(f"{file} has {config.num_classes} classes (model.prob.weight is "
                         f"({config.num_classes}, {config.embedding_size})), not the {num_classes} asked for")
    if variant is not None and variant != config.variant:
        raise ModelError(f"{file} holds MiniFASNet{config.variant}, not the {variant} asked for")
    if input_size is None:
        return config
    input_size = tuple(input_size)
    if conv6_kernel(input_size) != config.kernel:
        raise ModelError(f"{file} has a {config.kernel[0]}x{config.kernel[1]} conv_6_dw kernel, made for inputs "
                         f"of about {config.input_size[0]}x{config.input_size[1]}; {input_size[0]}x"
                         f"{input_size[1]} needs {conv6_kernel(input_size)} (kernel = (size + 15) // 16)")
    return replace(config, input_size=input_size)


def _load_strict(model: MultiFTNet, state: dict[str, Tensor], file: Path) -> None:
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        raise ModelError(f"{file} does not fit MiniFASNet{model.config.variant} (keys renamed to ours): "
                         f"missing keys {_key_list(missing)}; unexpected keys {_key_list(unexpected)}")
    wrong = [f"{key} {tuple(state[key].shape)} (ours {tuple(value.shape)})" for key, value in expected.items()
             if state[key].shape != value.shape]
    if wrong:
        raise ModelError(f"{file}: tensors of the wrong shape for MiniFASNet{model.config.variant}: "
                         f"{_key_list(wrong)}")
    model.load_state_dict(state, strict=True)


def load_minifasnet(path: str | Path, *, num_classes: int | None = None, variant: str | None = None,
                    input_size: tuple[int, int] | None = None) -> LoadedWeights:
    """Read a published (or our own) MiniFASNet weights file and return the loaded model in eval mode.

    Variant, class count, input size and the Fourier branch are inferred from the tensors; ``num_classes``
    and ``variant`` only check them (a mismatch raises :class:`ModelError`), ``input_size`` replaces the
    inferred 16 x kernel size by another one with the same ``conv_6_dw`` kernel.
    """
    file = Path(path)
    family, published = read_state_dict(file)
    state = to_our_keys(published, family)
    config = _check_request(infer_config(state, file), file, num_classes, variant, input_size)
    model = MultiFTNet(config)
    _load_strict(model, state, file)
    model.eval()
    return LoadedWeights(model=model, family=family, variant=config.variant, input_size=config.input_size,
                         num_classes=config.num_classes, has_fourier=config.with_fourier, source=file)

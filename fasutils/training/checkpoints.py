"""What a training run writes and reads back: resumable checkpoints (``last.pt`` / ``best.pt`` with the model,
optimizer, scheduler, history and every RNG state, loadable with ``weights_only=True``) and the plain model +
JSON side file for inference.

Every file is written atomically (:mod:`fasutils.core.files`): an interrupted write leaves the previous one.
Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from fasutils.core.errors import TrainingError
from fasutils.core.files import atomic_write, atomic_write_text
from fasutils.data.input_convention import InputConvention
from fasutils.models.architecture import MiniFASNet, MultiFTNet
from fasutils.models.weights import load_minifasnet
from fasutils.training.config import RESUME_FREE_FIELDS, TrainConfig

CHECKPOINT_FORMAT = 1  # bump when the checkpoint layout changes
DEFAULT_THRESHOLD = 0.5  # P(live) at or above which a face is live, for a model without a chosen threshold


def atomic_save(obj: object, path: Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically."""
    atomic_write(path, lambda stream: torch.save(obj, stream))


def check_writable(folder: Path) -> None:
    """Create ``folder`` and prove a file can be written in it, or raise :class:`TrainingError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise TrainingError(f"cannot write checkpoints to {folder}: {error.strerror or error}. Choose another "
                            "out_dir, or make this one writable") from None


def rng_state(torch_state: Tensor) -> dict:
    """Python, NumPy and torch RNG states as plain values (loadable with ``weights_only=True``)."""
    version, words, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(words), gauss],
             "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached)],
             "torch": torch_state.clone()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore the Python, NumPy and torch (and CUDA) RNG states saved by :func:`rng_state`."""
    version, words, gauss = state["python"]
    random.setstate((version, tuple(words), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def read_checkpoint(path: Path) -> dict:
    """The checkpoint dict in ``path``, or :class:`TrainingError` for an unreadable or foreign file."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, corrupt or foreign files raise many different types
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TrainingError(f"cannot read checkpoint {path} ({reason}); delete it or pass resume=False") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(f"{path} is not a fasutils.training checkpoint (format {CHECKPOINT_FORMAT}); "
                            "delete it or pass resume=False")
    return checkpoint


def load_checkpoint(path: str | Path) -> tuple[MultiFTNet, TrainConfig, list[dict]]:
    """The model (eval mode), config and history stored in a ``last.pt`` / ``best.pt`` checkpoint."""
    checkpoint = read_checkpoint(Path(path))
    config = TrainConfig.from_dict(checkpoint["config"])
    model = config.build_model()
    model.load_state_dict(checkpoint["model"])
    return model.eval(), config, checkpoint["history"]


def config_differences(saved: dict, current: dict) -> list[str]:
    """``"key old -> new"`` for every config field that differs, except :data:`RESUME_FREE_FIELDS`."""
    keys = sorted((set(saved) | set(current)) - set(RESUME_FREE_FIELDS))
    return [f"{key} {saved.get(key)!r} -> {current.get(key)!r}" for key in keys if saved.get(key) != current.get(key)]


def save_for_inference(model: nn.Module, config: TrainConfig, path: str | Path, *,
                       with_fourier: bool = False, threshold: float | None = None,
                       notes: dict[str, object] | None = None) -> Path:
    """Write the model's plain state dict (without the Fourier branch unless asked) and a JSON config beside it.

    ``path`` (e.g. ``model.pt``) loads back with :func:`fasutils.models.weights.load_minifasnet` (our own layout); the
    side file ``path.with_suffix(".json")`` holds the config, the input convention (RGB / 255, index 0 live) and
    the decision ``threshold`` on P(live) when one was chosen (see :func:`decision_threshold`), and ``notes``
    (plain values: how the model was chosen, whether a QUICK run made it ...).
    Both are written atomically.
    """
    path = Path(path)
    net = model.module if isinstance(model, DistributedDataParallel) else model
    state = {key: value.detach().cpu().clone() for key, value in net.state_dict().items()
             if with_fourier or not key.startswith("FTGenerator.")}
    check_writable(path.parent)
    atomic_save(state, path)
    about = {"weights": path.name, "config": config.to_dict(), "input": "RGB / 255, (3, H, W) float32",
             "crop": config.crop, "classes": list(config.input_convention().classes)}
    if threshold is not None:
        if not 0.0 <= threshold <= 1.0:
            raise TrainingError(f"threshold must be a P(live) in [0, 1], not {threshold}")
        about["threshold"] = float(threshold)
    about |= notes or {}
    atomic_write_text(path.with_suffix(".json"), json.dumps(about, indent=2) + "\n")
    return path


def load_for_inference(path: str | Path) -> tuple[MiniFASNet, InputConvention]:
    """The classifier (eval mode) written by :func:`save_for_inference` and its input convention (from the JSON)."""
    path = Path(path)
    try:
        config = TrainConfig.from_dict(json.loads(path.with_suffix(".json").read_text())["config"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise TrainingError(f"{path.with_suffix('.json')}: cannot read the model's configuration "
                            f"({type(error).__name__}: {error}); it is written beside the weights by "
                            "save_for_inference") from None
    loaded = load_minifasnet(path, num_classes=config.num_classes, variant=config.variant,
                             input_size=(config.input_size, config.input_size))
    return loaded.model.model, config.input_convention()


def decision_threshold(path: str | Path) -> float:
    """The P(live) threshold chosen for the model at ``path`` (its ``.json``), else :data:`DEFAULT_THRESHOLD`."""
    side = Path(path).with_suffix(".json")
    try:
        threshold = json.loads(side.read_text()).get("threshold", DEFAULT_THRESHOLD)
    except (OSError, ValueError, AttributeError) as error:
        raise TrainingError(f"{side}: cannot read the model's configuration ({type(error).__name__}: "
                            f"{error})") from None
    if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise TrainingError(f"{side}: threshold must be a P(live) in [0, 1], not {threshold!r}")
    return float(threshold)

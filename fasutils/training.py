"""Train MiniFASNet with its Fourier branch: resumable, deterministic, interruptible, and the same under ``torchrun``.

The published recipe (``../shared/notes/field-facts.md`` §2 and §4): MultiFTNet V2SE, loss
``0.5 * CrossEntropy + 0.5 * MSE(Fourier map, Fourier target)``, SGD lr 0.1 momentum 0.9 weight decay 5e-4,
MultiStepLR γ 0.1 at epochs 10, 15, 22 of 25 (here: at the same fractions of ``epochs``), random resized crop,
colour jitter, rotation and flip (:mod:`fasutils.augment`). One published inconsistency is a choice here:
the trainers compute the Fourier target on the *un-augmented* image, so it disagrees with the flipped, rotated
input the network sees; ``ft_target_from="augmented"`` (the default) computes it on the same image,
``"original"`` reproduces the published behaviour. The suite feeds its own models RGB / 255; labels are
0 live / 1 spoof (or the index in :data:`~fasutils.datasets.ATTACK_TYPES` with ``num_classes=6``).

Nothing is lost: every epoch writes ``last.pt`` (and ``best.pt`` when validation AUC improves) atomically, with
the model, optimizer, scheduler, history and every RNG state; ``train(..., resume=True)`` continues exactly
where it stopped, bit for bit, even from the middle of an epoch after Ctrl-C. Augmentations and sample order are
derived from (seed, epoch, index), so they need no stored generator. A non-finite loss stops with
:class:`TrainingDiverged` before it reaches the weights. Under ``torchrun`` the same :func:`train` runs
DistributedDataParallel (gloo on CPU, nccl on CUDA); rank 0 alone writes files.

Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.distributed as dist
from sklearn.metrics import roc_auc_score
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.augment import augment
from fasutils.conventions import InputConvention
from fasutils.crops import CONVENTIONS, CropConvention
from fasutils.datasets import ATTACK_TYPES, FaceCropDataset, Record
from fasutils.errors import FasError
from fasutils.files import atomic_write, atomic_write_text
from fasutils.fourier_target import fourier_target, fourier_target_size
from fasutils.minifasnet import VARIANTS, MiniFASNet, MultiFTNet, minifasnet
from fasutils.weights import load_minifasnet
from fasutils.runtime import seed_everything

__all__ = ["TrainConfig", "TrainConfigError", "TrainDataError", "CheckpointError", "TrainingDiverged",
           "TrainingInterrupted", "SpoofTrainingDataset", "BalancedDistributedSampler", "StepInfo", "TrainResult",
           "train", "save_for_inference", "load_checkpoint", "HISTORY_FIELDS"]

CHECKPOINT_FORMAT = 1  # bump when the checkpoint layout changes
LAST, BEST, METRICS_CSV, METRICS_JSON = "last.pt", "best.pt", "metrics.csv", "metrics.json"
RESUME_FREE_FIELDS = ("num_workers",)  # may differ on resume: they do not change the result
HISTORY_FIELDS = ("epoch", "lr", "train_loss", "train_cls_loss", "train_ft_loss", "train_acc", "val_loss",
                  "val_acc", "val_auc", "seconds")
SUMS = ("loss", "cls", "ft", "correct", "count")  # per-epoch running sums (losses weighted by batch size)


class TrainConfigError(FasError, ValueError):
    """A training configuration that cannot run."""


class TrainDataError(FasError, ValueError):
    """Training data that cannot train a classifier: empty, one class only, or crops the model cannot take."""


class CheckpointError(FasError):
    """A checkpoint folder that cannot be written, or a checkpoint that cannot be resumed."""


class TrainingDiverged(FasError):
    """The loss became NaN or infinite; the weights of the last finished epoch are kept in ``last.pt``."""


class TrainingInterrupted(FasError):
    """Training stopped on SIGINT (Ctrl-C) after saving ``last.pt``; ``train(..., resume=True)`` continues it."""

    def __init__(self, message: str, result: TrainResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (validated on creation). Defaults: the published recipe."""

    variant: str = "V2SE"  # MiniFASNet variant, one of VARIANTS
    input_size: int = 80  # square crop side in px (80: minivision; 128: hairymax / johnraivenolazo)
    crop: str = "minivision-2.7"  # crop convention, a key of fasutils.crops.CONVENTIONS (its size -> input_size)
    num_classes: int = 2  # 2: live / spoof; 6: one class per attack type (ATTACK_TYPES order, 0 = live)
    epochs: int = 25  # minivision trains 25, hairymax and johnraivenolazo 50
    batch_size: int = 64  # per process (minivision 1024 on 4 GPUs, hairymax 256)
    optimizer: str = "sgd"  # "sgd" (published) or "adamw"
    lr: float = 0.1  # published SGD rate; about 1e-3 suits adamw
    momentum: float = 0.9  # SGD only
    weight_decay: float = 5e-4
    schedule: str = "auto"  # "step" (MultiStepLR), "cosine" (CosineAnnealingLR), "auto": step for sgd, cosine for adamw
    milestones: tuple[float, ...] = (0.4, 0.6, 0.88)  # step schedule, fractions of epochs (minivision 10, 15, 22 of 25)
    gamma: float = 0.1  # step schedule factor
    cls_weight: float = 0.5  # weight of the cross-entropy loss
    ft_weight: float = 0.5  # weight of the Fourier MSE loss; 0 builds the model without the Fourier branch
    ft_target_from: str = "augmented"  # "augmented": target of the image the network sees; "original": published
    augment: bool = True  # the published augmentations on training crops
    balance: str = "weights"  # "weights": class-weighted loss, "sampler": class-balanced draws, "none"
    seed: int = 0  # model init, sample order, augmentation and dropout all derive from it
    num_workers: int = 0  # DataLoader worker processes (0: load in the training process)

    def __post_init__(self) -> None:
        choices = {"variant": tuple(VARIANTS), "crop": tuple(CONVENTIONS), "optimizer": ("sgd", "adamw"),
                   "schedule": ("auto", "step", "cosine"), "ft_target_from": ("augmented", "original"),
                   "balance": ("weights", "sampler", "none"), "num_classes": (2, len(ATTACK_TYPES))}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise TrainConfigError(f"{name} must be one of {', '.join(map(str, allowed))}, "
                                       f"not {getattr(self, name)!r}")
        for name in ("input_size", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise TrainConfigError(f"{name} must be a positive int, not {value!r}")
        if self.batch_size < 2:
            raise TrainConfigError("batch_size must be at least 2: BatchNorm cannot train on single images")
        if not (self.lr > 0 and self.weight_decay >= 0 and 0 <= self.momentum < 1 and 0 < self.gamma <= 1):
            raise TrainConfigError(f"need lr > 0, weight_decay >= 0, 0 <= momentum < 1 and 0 < gamma <= 1; got lr "
                                   f"{self.lr}, weight_decay {self.weight_decay}, momentum {self.momentum}, "
                                   f"gamma {self.gamma}")
        if not all(0 < f < 1 for f in self.milestones):
            raise TrainConfigError(f"milestones are fractions of the run, each in (0, 1), not {self.milestones!r}")
        if self.cls_weight < 0 or self.ft_weight < 0 or self.cls_weight + self.ft_weight == 0:
            raise TrainConfigError(f"cls_weight and ft_weight must be >= 0 and not both 0, not "
                                   f"{self.cls_weight}, {self.ft_weight}")
        if self.num_workers < 0:
            raise TrainConfigError(f"num_workers must be >= 0, not {self.num_workers}")
        fourier_map, target = -(-self.input_size // 8), fourier_target_size((self.input_size, self.input_size))[0]
        if self.with_fourier and fourier_map != target:
            raise TrainConfigError(f"input_size {self.input_size} cannot train the Fourier branch: it predicts a "
                                   f"{fourier_map}x{fourier_map} map but the target is {target}x{target}; use a "
                                   "side whose remainder mod 16 is 0 or 9-15 (80, 128 ...), or ft_weight=0")

    @property
    def with_fourier(self) -> bool:
        """The model has the Fourier branch (``ft_weight > 0``)."""
        return self.ft_weight > 0

    @property
    def schedule_kind(self) -> str:
        """"step" or "cosine" ("auto" resolved by the optimizer)."""
        if self.schedule != "auto":
            return self.schedule
        return "step" if self.optimizer == "sgd" else "cosine"

    def milestone_epochs(self) -> list[int]:
        """The step schedule's milestones in epochs: ``round(fraction * epochs)``, those inside the run."""
        return sorted({round(f * self.epochs) for f in self.milestones} & set(range(1, self.epochs)))

    def crop_convention(self) -> CropConvention:
        """The crop convention named by ``crop``, resized to ``input_size``."""
        return replace(CONVENTIONS[self.crop], size=(self.input_size, self.input_size))

    def input_convention(self) -> InputConvention:
        """How the trained model reads its input: this crop, RGB / 255, classes live/spoof (or ATTACK_TYPES)."""
        classes = ("live", "spoof") if self.num_classes == 2 else tuple(ATTACK_TYPES)
        return InputConvention(f"fasutils MiniFASNet{self.variant} {self.crop} {self.input_size}x{self.input_size}",
                               self.crop_convention(), "rgb", 1 / 255, classes, 0)

    def to_dict(self) -> dict:
        """Plain values only (tuples become lists), as stored in checkpoints and metrics files."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """The inverse of :meth:`to_dict`."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known})


class SpoofTrainingDataset(Dataset):
    """Records as training items ``(input (3, H, W) float32 RGB / 255, label, Fourier target (1, h, w))``.

    In train mode each crop is augmented with a generator seeded by (seed, epoch, index), so an item is the
    same in every run and process; call :meth:`set_epoch` to move to the next epoch's draws. Raises
    :class:`TrainDataError` for an empty or one-class training split and for a crop size the model cannot take.
    """

    def __init__(self, records: Sequence[Record], config: TrainConfig, train: bool,
                 convention: CropConvention | None = None) -> None:
        convention = convention or config.crop_convention()
        if tuple(convention.size) != (config.input_size, config.input_size):
            raise TrainDataError(f"crop convention {convention.name!r} cuts {convention.size[0]}x{convention.size[1]} "
                                 f"crops, but the model takes {config.input_size}x{config.input_size}; pass "
                                 "dataclasses.replace(convention, size=...) or change input_size")
        target = "is_spoof" if config.num_classes == 2 else "attack_type"
        self.crops = FaceCropDataset(records, convention, target=target)
        self.config = config
        self.train = train
        self.epoch = 0
        self.ft_size = fourier_target_size(convention.size)  # (h, w)
        self.labels = [self.crops.label(i) for i in range(len(self.crops))]
        if train:
            spoof = sum(record.is_spoof for record in records)
            if len(records) - spoof == 0 or spoof == 0:
                raise TrainDataError(f"the training split has {len(records) - spoof} live and {spoof} spoof images; a "
                                     "classifier needs both: check the split names and labels of the records")

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s augmentation draws."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> tuple[Tensor, int, Tensor]:
        crop = self.crops.crop(index)  # (H, W, 3) uint8 RGB
        seen = crop
        if self.train and self.config.augment:
            seen = augment(crop, np.random.default_rng([self.config.seed, self.epoch, index]))
        image = torch.from_numpy(seen).permute(2, 0, 1).float().div_(255)  # (3, H, W)
        if self.config.with_fourier:
            source = seen if self.config.ft_target_from == "augmented" else crop
            target = torch.from_numpy(fourier_target(source, self.ft_size))[None]  # (1, h, w)
        else:
            target = torch.zeros(1, *self.ft_size)  # (1, h, w), unused
        return image, self.labels[index], target


class BalancedDistributedSampler(DistributedSampler):
    """Draws ``len(dataset)`` indices with replacement, every class equally likely, sharded like DistributedSampler.

    The draw depends on (seed, epoch) only, so every process agrees and a resumed run repeats it.
    """

    def __init__(self, dataset: Dataset, labels: Sequence[int], num_replicas: int, rank: int, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        counts = Counter(labels)
        self.weights = torch.tensor([1 / counts[label] for label in labels], dtype=torch.float64)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        drawn = torch.multinomial(self.weights, self.total_size, replacement=True, generator=generator).tolist()
        return iter(drawn[self.rank:self.total_size:self.num_replicas])


class StepInfo(NamedTuple):
    """What a step callback receives after each optimizer step (epoch and step count from 0)."""

    epoch: int
    step: int
    loss: float
    model: nn.Module


@dataclass(frozen=True)
class TrainResult:
    """A finished (or stopped) run: the trained model in eval mode, per-epoch metrics and the files written."""

    model: MultiFTNet
    history: list[dict]  # one dict per finished epoch, keys HISTORY_FIELDS
    last_checkpoint: Path
    best_checkpoint: Path | None  # None until an epoch has been scored
    metrics_csv: Path
    metrics_json: Path
    best_epoch: int | None
    resumed_from: int  # epochs finished before this call (0 for a fresh run)


@dataclass(frozen=True)
class _Dist:
    """This process's place in a (possibly one-process) distributed run."""

    rank: int
    world: int
    device: torch.device
    owns_group: bool  # train() created the process group and destroys it

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed() -> _Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    cuda = torch.cuda.is_available()
    owns = False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        owns = True
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    return _Dist(rank, world, device, owns)


def _sum_over_ranks(values: Tensor, world: int) -> Tensor:
    if world > 1:
        dist.all_reduce(values)
    return values


def _any_rank(flag: bool, world: int) -> bool:
    """True on every process when ``flag`` is True on any (every process must call it)."""
    return bool(_sum_over_ranks(torch.tensor([float(flag)]), world).item())


def _average_buffers(model: nn.Module, world: int) -> None:
    """Average BatchNorm running statistics over processes: each one updated them on its own batches."""
    if world > 1:
        for buffer in model.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer)
                buffer.div_(world)


def _atomic_save(obj: object, path: Path) -> None:
    atomic_write(path, lambda stream: torch.save(obj, stream))


def _check_writable(folder: Path) -> None:
    """Create ``folder`` and prove a file can be written in it, or raise :class:`CheckpointError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise CheckpointError(f"cannot write checkpoints to {folder}: {error.strerror or error}. Choose another "
                              "out_dir, or make this one writable") from None


def _rng_state(torch_state: Tensor) -> dict:
    """Python, NumPy and torch RNG states as plain values (loadable with ``weights_only=True``)."""
    version, words, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(words), gauss],
             "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached)],
             "torch": torch_state.clone()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    version, words, gauss = state["python"]
    random.setstate((version, tuple(words), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _read_checkpoint(path: Path) -> dict:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, corrupt or foreign files raise many different types
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"cannot read checkpoint {path} ({reason}); delete it or pass resume=False") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a fasutils.training checkpoint (format {CHECKPOINT_FORMAT}); "
                              "delete it or pass resume=False")
    return checkpoint


def load_checkpoint(path: str | Path) -> tuple[MultiFTNet, TrainConfig, list[dict]]:
    """The model (eval mode), config and history stored in a ``last.pt`` / ``best.pt`` checkpoint."""
    checkpoint = _read_checkpoint(Path(path))
    config = TrainConfig.from_dict(checkpoint["config"])
    model = _build_model(config)
    model.load_state_dict(checkpoint["model"])
    return model.eval(), config, checkpoint["history"]


def _build_model(config: TrainConfig) -> MultiFTNet:
    size = (config.input_size, config.input_size)
    return minifasnet(config.variant, size, config.num_classes, with_fourier=config.with_fourier)


def _config_differences(saved: dict, current: dict) -> list[str]:
    keys = sorted((set(saved) | set(current)) - set(RESUME_FREE_FIELDS))
    return [f"{key} {saved.get(key)!r} -> {current.get(key)!r}" for key in keys if saved.get(key) != current.get(key)]


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    if config.schedule_kind == "step":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, config.milestone_epochs(), config.gamma)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)


def _class_weights(labels: Sequence[int], num_classes: int) -> Tensor:
    """Inverse-frequency weights ``n / (classes present x count)``; absent classes weigh 0."""
    counts = Counter(labels)
    present = len(counts)
    return torch.tensor([len(labels) / (present * counts[c]) if counts[c] else 0.0 for c in range(num_classes)])


def _evaluate(model: MultiFTNet, loader: DataLoader, device: torch.device) -> dict:
    """Validation loss (cross-entropy), accuracy and AUC of P(spoof) = 1 - P(live); None without data."""
    if len(loader.dataset) == 0:
        return {"val_loss": None, "val_acc": None, "val_auc": None}
    model.eval()
    losses, labels, scores, correct = 0.0, [], [], 0
    with torch.no_grad():
        for images, targets, _ in loader:
            logits = model(images.to(device))  # (B, classes)
            targets = targets.to(device)
            losses += nn.functional.cross_entropy(logits, targets, reduction="sum").item()
            correct += (logits.argmax(1) == targets).sum().item()
            scores += (1 - logits.softmax(1)[:, 0]).tolist()
            labels += (targets != 0).long().tolist()
    auc = float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else None
    return {"val_loss": losses / len(labels), "val_acc": correct / len(labels), "val_auc": auc}


def _score(record: dict) -> float:
    """What ``best.pt`` maximises: val AUC, else val accuracy, else minus the training loss."""
    for key, sign in (("val_auc", 1), ("val_acc", 1), ("train_loss", -1)):
        if record.get(key) is not None:
            return sign * record[key]
    return -math.inf


def _write_metrics(history: list[dict], config: TrainConfig, best_epoch: int | None, out_dir: Path) -> None:
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: "" if row.get(key) is None else row[key] for key in HISTORY_FIELDS} for row in history)
    atomic_write_text(out_dir / METRICS_CSV, table.getvalue())
    summary = {"config": config.to_dict(), "best_epoch": best_epoch, "history": history}
    atomic_write_text(out_dir / METRICS_JSON, json.dumps(summary, indent=2) + "\n")


class _StopOnSigint:
    """Turns the first SIGINT into a request to stop after the current step; a second one interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self.previous = None

    def handler(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _StopOnSigint:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class _Run:
    """The state of one training run: model, optimizer, data and where it stands; rank 0 writes the files."""

    def __init__(self, config: TrainConfig, train_records: Sequence[Record], val_records: Sequence[Record],
                 out_dir: Path, where: _Dist) -> None:
        self.config, self.out_dir, self.where = config, out_dir, where
        self.train_set = SpoofTrainingDataset(train_records, config, train=True)
        self.val_set = SpoofTrainingDataset(val_records, config, train=False)
        seed_everything(config.seed)
        self.model = _build_model(config).to(where.device)
        torch.manual_seed(config.seed + where.rank)  # each process its own dropout stream
        self.net: nn.Module = self.model
        self.optimizer = _optimizer(config, self.model)
        self.scheduler = _scheduler(config, self.optimizer)
        weights = _class_weights(self.train_set.labels, config.num_classes) if config.balance == "weights" else None
        self.cls_loss = nn.CrossEntropyLoss(weight=None if weights is None else weights.to(where.device))
        if config.balance == "sampler":
            self.sampler = BalancedDistributedSampler(self.train_set, self.train_set.labels, where.world, where.rank,
                                                      config.seed)
        else:
            self.sampler = DistributedSampler(self.train_set, where.world, where.rank, seed=config.seed)
        if len(self.sampler) < 2:
            raise TrainDataError(f"{len(self.train_set)} training images give {len(self.sampler)} per process; "
                                 "BatchNorm needs batches of at least 2: add images")
        self.val_loader = DataLoader(self.val_set, config.batch_size, num_workers=config.num_workers)
        self.history: list[dict] = []
        self.epoch, self.step, self.best_score, self.best_epoch = 0, 0, -math.inf, None
        self.partial = dict.fromkeys(SUMS, 0.0)

    def resume(self, path: Path) -> None:
        """Restore everything from ``path``, refusing a checkpoint of another configuration."""
        checkpoint = _read_checkpoint(path)
        differences = _config_differences(checkpoint["config"], self.config.to_dict())
        if differences:
            raise CheckpointError(f"{path} was written by another configuration ({'; '.join(differences)}); "
                                  "train in a new out_dir, or pass resume=False to start over here")
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.history, self.epoch, self.step = checkpoint["history"], checkpoint["epoch"], checkpoint["step"]
        self.best_score, self.best_epoch = checkpoint["best_score"], checkpoint["best_epoch"]
        if self.where.main:  # the saved sums are the total over processes: count them once
            self.partial = dict(checkpoint["partial"])
        states = checkpoint["rng"]
        _set_rng_state(states[self.where.rank % len(states)])

    def checkpoint(self, torch_rng: Tensor) -> dict:
        """Everything needed to continue (a collective call under DDP: every process must make it)."""
        partial = self._summed(self.partial)
        states = [None] * self.where.world
        if self.where.world > 1:
            dist.all_gather_object(states, _rng_state(torch_rng))
        else:
            states = [_rng_state(torch_rng)]
        return {"format": CHECKPOINT_FORMAT, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "epoch": self.epoch, "step": self.step, "partial": partial, "config": self.config.to_dict(),
                "history": self.history, "best_score": self.best_score, "best_epoch": self.best_epoch, "rng": states}

    def _summed(self, sums: dict) -> dict:
        total = _sum_over_ranks(torch.tensor([sums[key] for key in SUMS], dtype=torch.float64), self.where.world)
        return dict(zip(SUMS, total.tolist()))

    def save(self, checkpoint: dict, best: bool) -> None:
        if self.where.main:
            _atomic_save(checkpoint, self.out_dir / LAST)
            if best:
                _atomic_save(checkpoint, self.out_dir / BEST)
            _write_metrics(self.history, self.config, self.best_epoch, self.out_dir)

    def run_epoch(self, progress: bool, stop: _StopOnSigint, on_step: Callable[[StepInfo], None] | None) -> bool:
        """Train one epoch from ``self.step``; False when stopped by SIGINT (state saved), True when finished."""
        config, device, world = self.config, self.where.device, self.where.world
        self.train_set.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch)
        order = list(self.sampler)
        drop_last = len(order) % config.batch_size == 1  # a lone last image cannot pass BatchNorm
        steps = len(order) // config.batch_size + (len(order) % config.batch_size > 1)
        loader = DataLoader(self.train_set, config.batch_size, sampler=order[self.step * config.batch_size:],
                            num_workers=config.num_workers, drop_last=drop_last,
                            generator=torch.Generator().manual_seed(config.seed + self.epoch))
        lr = self.optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        self.net.train()
        bar = tqdm(loader, total=steps, initial=self.step, desc=f"epoch {self.epoch + 1}/{config.epochs}",
                   unit="batch", disable=not (progress and self.where.main))
        with bar:
            for images, labels, targets in bar:
                if _any_rank(stop.requested, world):  # before the forward pass, which moves BatchNorm statistics
                    self.save(self.checkpoint(torch.get_rng_state()), best=False)
                    return False
                images, labels, targets = images.to(device), labels.to(device), targets.to(device)
                output = self.net(images)  # logits (B, classes), with Fourier also the map (B, 1, h, w)
                logits, fourier = output if config.with_fourier else (output, None)
                cls_loss = self.cls_loss(logits, labels)
                ft_loss = nn.functional.mse_loss(fourier, targets) if fourier is not None else cls_loss.new_zeros(())
                loss = config.cls_weight * cls_loss + config.ft_weight * ft_loss
                if _any_rank(not torch.isfinite(loss).item(), world):  # before backward: keep the weights clean
                    raise TrainingDiverged(
                        f"the loss became {loss.item()} at epoch {self.epoch + 1}, step {self.step + 1}; training "
                        f"stopped before it reached the weights, and {self.out_dir / LAST} keeps the last finished "
                        "epoch. Lower lr, check the inputs for NaN, or resume with another seed")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                count = len(labels)
                for key, value in (("loss", loss.item() * count), ("cls", cls_loss.item() * count),
                                   ("ft", ft_loss.item() * count),
                                   ("correct", (logits.argmax(1) == labels).sum().item()), ("count", count)):
                    self.partial[key] += value
                bar.set_postfix(loss=f"{self.partial['loss'] / self.partial['count']:.4f}")
                if on_step is not None:
                    on_step(StepInfo(self.epoch, self.step, loss.item(), self.model))
                self.step += 1
        _average_buffers(self.model, world)
        sums = self._summed(self.partial)
        record = {"epoch": self.epoch + 1, "lr": lr, "train_loss": sums["loss"] / sums["count"],
                  "train_cls_loss": sums["cls"] / sums["count"], "train_ft_loss": sums["ft"] / sums["count"],
                  "train_acc": sums["correct"] / sums["count"]}
        record |= _evaluate(self.model, self.val_loader, device)
        record["seconds"] = time.perf_counter() - start
        self.history.append(record)
        self.scheduler.step()
        self.epoch, self.step, self.partial = self.epoch + 1, 0, dict.fromkeys(SUMS, 0.0)
        best = _score(record) > self.best_score
        if best:
            self.best_score, self.best_epoch = _score(record), record["epoch"]
        self.save(self.checkpoint(torch.get_rng_state()), best)
        if progress and self.where.main:
            shown = {k: round(v, 4) for k, v in record.items() if isinstance(v, float) and k != "seconds"}
            tqdm.write(f"epoch {record['epoch']}: {shown}")
        return True

    def result(self, resumed_from: int) -> TrainResult:
        best = self.out_dir / BEST
        return TrainResult(self.model.eval(), list(self.history), self.out_dir / LAST,
                           best if best.is_file() else None, self.out_dir / METRICS_CSV, self.out_dir / METRICS_JSON,
                           self.best_epoch, resumed_from)


def train(config: TrainConfig, train_records: Sequence[Record], val_records: Sequence[Record],
          out_dir: str | Path, resume: bool = True, progress: bool = True, *, stop_after: int | None = None,
          on_step: Callable[[StepInfo], None] | None = None) -> TrainResult:
    """Train (or continue training) a MiniFASNet on ``train_records``, scoring each epoch on ``val_records``.

    Writes ``last.pt`` every epoch, ``best.pt`` at the best validation AUC, ``metrics.csv`` and ``metrics.json``
    into ``out_dir``. With ``resume`` an existing ``last.pt`` of the same configuration is continued (exactly as
    if never stopped); another configuration is refused. ``stop_after`` ends after that many finished epochs
    (to split a run); ``on_step`` is called after every optimizer step. Ctrl-C saves ``last.pt`` and raises
    :class:`TrainingInterrupted`; a non-finite loss raises :class:`TrainingDiverged`. Under ``torchrun`` every
    process calls this; rank 0 writes the files and every process returns the same model.
    """
    out_dir = Path(out_dir)
    _check_writable(out_dir)
    where = _setup_distributed()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        run = _Run(config, train_records, val_records, out_dir, where)
        if resume and (out_dir / LAST).is_file():
            run.resume(out_dir / LAST)
        resumed_from = run.epoch
        if where.world > 1:
            run.net = DistributedDataParallel(run.model, device_ids=[where.device] if where.device.type == "cuda"
                                              else None)
        last_epoch = config.epochs if stop_after is None else min(config.epochs, stop_after)
        with _StopOnSigint() as stop:
            while run.epoch < last_epoch:
                if not run.run_epoch(progress, stop, on_step):
                    raise TrainingInterrupted(
                        f"interrupted at epoch {run.epoch + 1}, step {run.step}; {out_dir / LAST} holds the state. "
                        "Call train() again with resume=True to continue exactly from there", run.result(resumed_from))
        return run.result(resumed_from)
    finally:
        torch.use_deterministic_algorithms(deterministic)
        if where.owns_group:
            dist.destroy_process_group()


def save_for_inference(model: nn.Module, config: TrainConfig, path: str | Path, *,
                       with_fourier: bool = False) -> Path:
    """Write the model's plain state dict (without the Fourier branch unless asked) and a JSON config beside it.

    ``path`` (e.g. ``model.pt``) loads back with :func:`fasutils.weights.load_minifasnet` (our own layout); the
    side file ``path.with_suffix(".json")`` holds the config and the input convention (RGB / 255, index 0 live).
    Both are written atomically.
    """
    path = Path(path)
    net = model.module if isinstance(model, DistributedDataParallel) else model
    state = {key: value.detach().cpu().clone() for key, value in net.state_dict().items()
             if with_fourier or not key.startswith("FTGenerator.")}
    _check_writable(path.parent)
    _atomic_save(state, path)
    about = {"weights": path.name, "config": config.to_dict(), "input": "RGB / 255, (3, H, W) float32",
             "crop": config.crop, "classes": list(config.input_convention().classes)}
    atomic_write_text(path.with_suffix(".json"), json.dumps(about, indent=2) + "\n")
    return path


def load_for_inference(path: str | Path) -> tuple[MiniFASNet, InputConvention]:
    """The classifier (eval mode) written by :func:`save_for_inference` and its input convention (from the JSON)."""
    path = Path(path)
    try:
        config = TrainConfig.from_dict(json.loads(path.with_suffix(".json").read_text())["config"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path.with_suffix('.json')}: cannot read the model's configuration "
                              f"({type(error).__name__}: {error}); it is written beside the weights by "
                              "save_for_inference") from None
    loaded = load_minifasnet(path, num_classes=config.num_classes, variant=config.variant,
                             input_size=(config.input_size, config.input_size))
    return loaded.model.model, config.input_convention()


def predict_spoof(model: nn.Module, records: Sequence[Record], config: TrainConfig,
                  batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """P(spoof) = 1 - P(live) of ``model`` on ``records`` (crops as ``config`` cuts them), and their labels (1 = spoof)."""
    loader = DataLoader(SpoofTrainingDataset(records, config, train=False), batch_size=batch_size)
    model.eval()
    scores, labels = [], []
    with torch.no_grad():
        for images, targets, _ in loader:
            scores.append(1 - model(images).softmax(1)[:, 0])  # (B,)
            labels.append((targets != 0).long())
    if not scores:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return torch.cat(scores).numpy(), torch.cat(labels).numpy()

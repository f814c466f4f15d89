"""The training loop: :func:`train` MiniFASNet with its Fourier branch, resumable, deterministic, interruptible,
and the same under ``torchrun``; :func:`predict_spoof` scores records with a trained model.

The loss is ``cls_weight * CrossEntropy + ft_weight * MSE(Fourier map, Fourier target)`` with the optimizer and
schedule of :class:`~fasutils.training.config.TrainConfig` (the published recipe by default).

Nothing is lost: every epoch writes ``last.pt`` (and ``best.pt`` when validation AUC improves) atomically, with
the model, optimizer, scheduler, history and every RNG state; ``train(..., resume=True)`` continues exactly
where it stopped, bit for bit, even from the middle of an epoch after Ctrl-C (which raises
:class:`TrainingInterrupted`). Augmentations and sample order are derived from (seed, epoch, index), so they need
no stored generator. A non-finite loss stops with :class:`TrainingError` before it reaches the weights. Under
``torchrun`` the same :func:`train` runs DistributedDataParallel (gloo on CPU, nccl on CUDA); rank 0 alone writes
files.

Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.distributed as dist
from sklearn.metrics import roc_auc_score
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.core.errors import TrainingError, TrainingInterrupted
from fasutils.core.files import atomic_write_text
from fasutils.core.settings import seed_everything
from fasutils.data.records import Record
from fasutils.models.architecture import MultiFTNet
from fasutils.training.checkpoints import (
    CHECKPOINT_FORMAT,
    atomic_save,
    check_writable,
    config_differences,
    read_checkpoint,
    rng_state,
    save_for_inference,
    set_rng_state,
)
from fasutils.training.config import TrainConfig
from fasutils.training.data import BalancedDistributedSampler, SpoofTrainingDataset, class_weights
from fasutils.training.distributed import DistContext, any_rank, average_buffers, setup_distributed, sum_over_ranks
from fasutils.training.transfer import anchor_distance, freeze, hold_frozen, start_model

LAST, BEST, METRICS_CSV, METRICS_JSON = "last.pt", "best.pt", "metrics.csv", "metrics.json"
HISTORY_FIELDS = ("epoch", "lr", "train_loss", "train_cls_loss", "train_ft_loss", "train_acc", "val_loss",
                  "val_acc", "val_auc", "anchor_distance", "seconds")
EPOCHS_DIR = "epochs"  # keep_epochs: epoch_NNN.pt (+ .json) per finished epoch, each loadable for inference
SUMS = ("loss", "cls", "ft", "correct", "count")  # per-epoch running sums (losses weighted by batch size)


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


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    if config.schedule_kind == "step":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, config.milestone_epochs(), config.gamma)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)


def decision_logits(logits: Tensor, config: TrainConfig) -> Tensor:
    """The logits the loss and the accuracy read: per attack type as they are; else (live, spoof), every spoof class
    pooled by log-sum-exp, so P(spoof) is the sum of their softmax (a fine-tuned source's several spoof classes)."""
    if config.per_attack_type:
        return logits
    return torch.cat([logits[:, :1], logits[:, 1:].logsumexp(1, keepdim=True)], 1)  # (B, 2)


def _evaluate(model: MultiFTNet, loader: DataLoader, device: torch.device, config: TrainConfig) -> dict:
    """Validation loss (cross-entropy), accuracy and AUC of P(spoof) = 1 - P(live); None without data."""
    if len(loader.dataset) == 0:
        return {"val_loss": None, "val_acc": None, "val_auc": None}
    model.eval()
    losses, labels, scores, correct = 0.0, [], [], 0
    with torch.no_grad():
        for images, targets, _ in loader:
            logits = model(images.to(device))  # (B, classes)
            decisions = decision_logits(logits, config)
            targets = targets.to(device)
            losses += nn.functional.cross_entropy(decisions, targets, reduction="sum").item()
            correct += (decisions.argmax(1) == targets).sum().item()
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
                 out_dir: Path, where: DistContext, keep_epochs: bool = False) -> None:
        self.config, self.out_dir, self.where, self.keep_epochs = config, out_dir, where, keep_epochs
        self.train_set = SpoofTrainingDataset(train_records, config, train=True)
        self.val_set = SpoofTrainingDataset(val_records, config, train=False)
        seed_everything(config.seed)
        self.model, self.anchor = start_model(config)
        self.model.to(where.device)
        freeze(self.model, config.freeze)
        torch.manual_seed(config.seed + where.rank)  # each process its own dropout stream
        self.net: nn.Module = self.model
        self.optimizer = _optimizer(config, self.model)
        self.scheduler = _scheduler(config, self.optimizer)
        weights = class_weights(self.train_set.labels, config.label_classes) if config.balance == "weights" else None
        self.cls_loss = nn.CrossEntropyLoss(weight=None if weights is None else weights.to(where.device))
        if config.balance == "sampler":
            self.sampler = BalancedDistributedSampler(self.train_set, self.train_set.labels, where.world, where.rank,
                                                      config.seed)
        else:
            self.sampler = DistributedSampler(self.train_set, where.world, where.rank, seed=config.seed)
        if len(self.sampler) < 2:
            raise TrainingError(f"{len(self.train_set)} training images give {len(self.sampler)} per process; "
                                "BatchNorm needs batches of at least 2: add images")
        self.val_loader = DataLoader(self.val_set, config.batch_size, num_workers=config.num_workers)
        self.history: list[dict] = []
        self.epoch, self.step, self.best_score, self.best_epoch = 0, 0, -math.inf, None
        self.partial = dict.fromkeys(SUMS, 0.0)

    def resume(self, path: Path) -> None:
        """Restore everything from ``path``, refusing a checkpoint of another configuration."""
        checkpoint = read_checkpoint(path)
        differences = config_differences(checkpoint["config"], self.config.to_dict())
        if differences:
            raise TrainingError(f"{path} was written by another configuration ({'; '.join(differences)}); "
                                "train in a new out_dir, or pass resume=False to start over here")
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.history, self.epoch, self.step = checkpoint["history"], checkpoint["epoch"], checkpoint["step"]
        self.best_score, self.best_epoch = checkpoint["best_score"], checkpoint["best_epoch"]
        if self.where.main:  # the saved sums are the total over processes: count them once
            self.partial = dict(checkpoint["partial"])
        states = checkpoint["rng"]
        set_rng_state(states[self.where.rank % len(states)])

    def checkpoint(self, torch_rng: Tensor) -> dict:
        """Everything needed to continue (a collective call under DDP: every process must make it)."""
        partial = self._summed(self.partial)
        states = [None] * self.where.world
        if self.where.world > 1:
            dist.all_gather_object(states, rng_state(torch_rng))
        else:
            states = [rng_state(torch_rng)]
        return {"format": CHECKPOINT_FORMAT, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "epoch": self.epoch, "step": self.step, "partial": partial, "config": self.config.to_dict(),
                "history": self.history, "best_score": self.best_score, "best_epoch": self.best_epoch, "rng": states}

    def _summed(self, sums: dict) -> dict:
        total = sum_over_ranks(torch.tensor([sums[key] for key in SUMS], dtype=torch.float64), self.where.world)
        return dict(zip(SUMS, total.tolist(), strict=True))

    def save(self, checkpoint: dict, best: bool) -> None:
        if self.where.main:
            atomic_save(checkpoint, self.out_dir / LAST)
            if best:
                atomic_save(checkpoint, self.out_dir / BEST)
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
        hold_frozen(self.model, config.freeze)
        bar = tqdm(loader, total=steps, initial=self.step, desc=f"epoch {self.epoch + 1}/{config.epochs}",
                   unit="batch", disable=not (progress and self.where.main))
        with bar:
            for images, labels, targets in bar:
                if any_rank(stop.requested, world):  # before the forward pass, which moves BatchNorm statistics
                    self.save(self.checkpoint(torch.get_rng_state()), best=False)
                    return False
                images, labels, targets = images.to(device), labels.to(device), targets.to(device)
                output = self.net(images)  # logits (B, classes), with Fourier also the map (B, 1, h, w)
                logits, fourier = output if config.with_fourier else (output, None)
                decisions = decision_logits(logits, config)
                cls_loss = self.cls_loss(decisions, labels)
                ft_loss = nn.functional.mse_loss(fourier, targets) if fourier is not None else cls_loss.new_zeros(())
                loss = config.cls_weight * cls_loss + config.ft_weight * ft_loss
                if config.anchor_weight:
                    loss = loss + config.anchor_weight * self.anchor.penalty(self.model)
                if any_rank(not torch.isfinite(loss).item(), world):  # before backward: keep the weights clean
                    raise TrainingError(
                        f"the loss became {loss.item()} at epoch {self.epoch + 1}, step {self.step + 1}; training "
                        f"stopped before it reached the weights, and {self.out_dir / LAST} keeps the last finished "
                        "epoch. Lower lr, check the inputs for NaN, or resume with another seed")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                count = len(labels)
                for key, value in (("loss", loss.item() * count), ("cls", cls_loss.item() * count),
                                   ("ft", ft_loss.item() * count),
                                   ("correct", (decisions.argmax(1) == labels).sum().item()), ("count", count)):
                    self.partial[key] += value
                bar.set_postfix(loss=f"{self.partial['loss'] / self.partial['count']:.4f}")
                if on_step is not None:
                    on_step(StepInfo(self.epoch, self.step, loss.item(), self.model))
                self.step += 1
        average_buffers(self.model, world)
        sums = self._summed(self.partial)
        record = {"epoch": self.epoch + 1, "lr": lr, "train_loss": sums["loss"] / sums["count"],
                  "train_cls_loss": sums["cls"] / sums["count"], "train_ft_loss": sums["ft"] / sums["count"],
                  "train_acc": sums["correct"] / sums["count"]}
        record |= _evaluate(self.model, self.val_loader, device, config)
        record["anchor_distance"] = None if self.anchor is None else anchor_distance(self.model, self.anchor)
        record["seconds"] = time.perf_counter() - start
        self.history.append(record)
        self.scheduler.step()
        self.epoch, self.step, self.partial = self.epoch + 1, 0, dict.fromkeys(SUMS, 0.0)
        best = _score(record) > self.best_score
        if best:
            self.best_score, self.best_epoch = _score(record), record["epoch"]
        self.save(self.checkpoint(torch.get_rng_state()), best)
        if self.keep_epochs and self.where.main:
            save_for_inference(self.model, config, self.out_dir / EPOCHS_DIR / f"epoch_{record['epoch']:03d}.pt")
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
          on_step: Callable[[StepInfo], None] | None = None, keep_epochs: bool = False) -> TrainResult:
    """Train (or continue training) a MiniFASNet on ``train_records``, scoring each epoch on ``val_records``.

    Writes ``last.pt`` every epoch, ``best.pt`` at the best validation AUC, ``metrics.csv`` and ``metrics.json``
    into ``out_dir``. With ``resume`` an existing ``last.pt`` of the same configuration is continued (exactly as
    if never stopped); another configuration is refused. ``stop_after`` ends after that many finished epochs
    (to split a run); ``on_step`` is called after every optimizer step; ``keep_epochs`` also writes each epoch's
    model for inference to ``out_dir/epochs/epoch_NNN.pt`` (to choose an epoch by another yardstick). Ctrl-C
    saves ``last.pt`` and raises :class:`TrainingInterrupted`; a non-finite loss raises :class:`TrainingError`.
    Under ``torchrun`` every process calls this; rank 0 writes the files and every process returns the same model.
    """
    out_dir = Path(out_dir)
    check_writable(out_dir)
    where = setup_distributed()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        run = _Run(config, train_records, val_records, out_dir, where, keep_epochs)
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


def predict_spoof(model: nn.Module, records: Sequence[Record], config: TrainConfig,
                  batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """P(spoof) = 1 - P(live) of ``model`` on ``records`` (crops as ``config`` cuts them) and their labels (1 spoof)."""
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

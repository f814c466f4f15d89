"""Figures shared by the notebooks (matplotlib). Each function returns its figure; notebooks call ``plt.show()``.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str], ncols: int = 4,
               cell_inches: float = 3.0) -> plt.Figure:
    """RGB (or grayscale) images in a grid with one title each; a fixed size keeps nbval's text stable."""
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    ncols = max(1, min(ncols, len(images)))
    nrows = max(1, math.ceil(len(images) / ncols))
    figure, axes = plt.subplots(nrows, ncols, figsize=(cell_inches * ncols, cell_inches * nrows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, title in zip(axes.flat, images, titles):
        axis.imshow(image, cmap="gray" if image.ndim == 2 else None)
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def training_curves(history: Sequence[dict]) -> plt.Figure:
    """Losses, accuracies and validation AUC per epoch of a :func:`fasutils.training.train` history."""
    epochs = [row["epoch"] for row in history]
    figure, (losses, accuracy, auc) = plt.subplots(1, 3, figsize=(14, 3.6))
    for key, label in (("train_cls_loss", "train cross-entropy"), ("train_ft_loss", "train Fourier MSE"),
                       ("val_loss", "val cross-entropy")):
        if any(row.get(key) is not None for row in history):
            losses.plot(epochs, [row.get(key) for row in history], marker=".", label=label)
    losses.set_yscale("log")
    losses.set_title("losses")
    for key, label in (("train_acc", "train"), ("val_acc", "val")):
        accuracy.plot(epochs, [row.get(key) for row in history], marker=".", label=label)
    accuracy.set_title("accuracy")
    auc.plot(epochs, [row.get("val_auc") for row in history], marker=".", color="tab:green")
    auc.set_title("validation ROC AUC")
    for axis, ylabel in ((losses, "loss"), (accuracy, "accuracy"), (auc, "AUC")):
        axis.set_xlabel("epoch")
        axis.set_ylabel(ylabel)
    losses.legend()
    accuracy.legend()
    figure.tight_layout()
    return figure


def score_agreement(reference: np.ndarray, others: Mapping[str, np.ndarray], threshold: float,
                    reference_name: str = "FP32") -> plt.Figure:
    """One scatter per model: its P(live) against the reference's on the same samples, with the threshold
    drawn on both axes; points off the diagonal quadrants are decisions that changed."""
    figure, axes = plt.subplots(1, len(others), figsize=(3.6 * len(others), 3.6), squeeze=False)
    for axis, (name, scores) in zip(axes.flat, others.items()):
        flipped = (scores >= threshold) != (reference >= threshold)
        axis.scatter(reference[~flipped], scores[~flipped], s=8, alpha=0.5, label="same decision")
        axis.scatter(reference[flipped], scores[flipped], s=24, color="tab:red", label=f"changed ({flipped.sum()})")
        axis.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
        axis.axvline(threshold, color="black", linestyle=":", linewidth=0.8)
        axis.axhline(threshold, color="black", linestyle=":", linewidth=0.8)
        axis.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), title=name, xlabel=f"P(live), {reference_name}",
                 ylabel=f"P(live), {name}")
        axis.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    return figure


def operator_times(profiles: Mapping[str, pd.DataFrame], top: int = 6) -> plt.Figure:
    """Stacked bars of run time per operator type (``fasutils.benchmark.profile_ops`` tables), one bar per model;
    the ``top`` costliest operators of each get their own colour, the rest is "other"."""
    shown = list(dict.fromkeys(op for table in profiles.values() for op in table.index[:top]))
    figure, axis = plt.subplots(figsize=(10, 0.6 * len(profiles) + 1.8))
    left = np.zeros(len(profiles))
    colours = plt.get_cmap("tab20")
    for index, op in enumerate([*shown, "other"]):
        widths = np.array([table.loc[op, "ms per run"] if op in table.index else
                           table.loc[~table.index.isin(shown), "ms per run"].sum() if op == "other" else 0.0
                           for table in profiles.values()])
        axis.barh(list(profiles), widths, left=left, label=op, color=colours(index % 20))
        left += widths
    axis.invert_yaxis()
    axis.set(xlabel="ms per run (onnxruntime profiler, batch 1)", title="Where the time goes, by operator type")
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), title="operator", title_fontsize=8)
    figure.tight_layout()
    return figure


def latency_vs_size(models: pd.DataFrame, table: pd.DataFrame, threads: int = 1) -> plt.Figure:
    """p50 latency at batch 1 on ``threads`` threads against file size, one labelled point per model, one marker
    per task (the ``models`` and ``table`` of ``fasutils.benchmark.run_benchmark``), both axes logarithmic."""
    single = table[(table["batch"] == 1) & (table["threads"] == threads)].set_index("model")["p50 ms"]
    figure, axis = plt.subplots(figsize=(9, 5.5))
    for (task, group), marker in zip(models.loc[single.index].groupby("task", sort=False), "os^D"):
        axis.scatter(group["size MB"], single[group.index], marker=marker, s=45, label=task)
        for name, size in group["size MB"].items():
            axis.annotate(name, (size, single[name]), xytext=(5, 3), textcoords="offset points", fontsize=7)
    axis.set(xscale="log", yscale="log", xlabel="file size (MB)", ylabel="p50 latency (ms)",
             title=f"Latency against size: batch 1, {threads} thread(s)")
    for scale in (axis.xaxis, axis.yaxis):
        scale.set_major_formatter("{x:g}")
        scale.set_minor_formatter("{x:g}")
    axis.legend()
    figure.tight_layout()
    return figure


def latency_distributions(samples: pd.DataFrame, batch: int = 1) -> plt.Figure:
    """Every timed call at ``batch`` (``fasutils.benchmark`` samples) as box plots, one row per model and one
    panel per thread count; boxes span p25-p75, whiskers p1-p99, dots the calls beyond."""
    chosen = samples[samples["batch"] == batch]
    names, counts = list(dict.fromkeys(chosen["model"])), sorted(chosen["threads"].unique())
    figure, axes = plt.subplots(1, len(counts), figsize=(6 * len(counts), 0.4 * len(names) + 1.6), sharex=True,
                                sharey=True, squeeze=False)
    for axis, count in zip(axes.flat, counts):
        calls = chosen[chosen["threads"] == count].groupby("model")["ms"]
        axis.boxplot([calls.get_group(name) for name in names], orientation="horizontal", whis=(1, 99),
                     flierprops={"markersize": 2})
        axis.set(xscale="log", xlabel="ms per call", title=f"batch {batch}, {count} thread(s)")
        axis.xaxis.set_major_formatter("{x:g}")
        axis.xaxis.set_minor_formatter("")
    axes[0, 0].set_yticks(range(1, len(names) + 1), names)  # the y axis is shared
    axes[0, 0].invert_yaxis()
    figure.tight_layout()
    return figure


def thread_scaling(table: pd.DataFrame, batch: int = 1) -> plt.Figure:
    """Speed-up of each model's p50 at ``batch`` over its p50 on the fewest threads timed (``fasutils.benchmark``
    table), one bar per model and thread count; dotted lines mark no gain and perfect scaling."""
    p50 = table[table["batch"] == batch].pivot(index="model", columns="threads", values="p50 ms")
    p50 = p50.loc[list(dict.fromkeys(table.loc[table["batch"] == batch, "model"]))]
    fewest, more = p50.columns[0], p50.columns[1:]
    figure, axis = plt.subplots(figsize=(8, 0.35 * len(p50) * max(len(more), 1) + 1.6))
    height = 0.8 / max(len(more), 1)
    for index, count in enumerate(more):
        axis.barh(np.arange(len(p50)) + index * height, p50[fewest] / p50[count], height, label=f"{count} threads")
        axis.axvline(count / fewest, color="grey", linestyle=":", linewidth=1)
    axis.axvline(1, color="black", linestyle=":", linewidth=1)
    axis.set_yticks(np.arange(len(p50)) + height * (len(more) - 1) / 2, p50.index)
    axis.invert_yaxis()
    axis.set(xlabel=f"speed-up over {fewest} thread(s) (p50 ratio)", title=f"Thread scaling at batch {batch}")
    axis.legend()
    figure.tight_layout()
    return figure

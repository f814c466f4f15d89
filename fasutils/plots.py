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
    figure, axis = plt.subplots(figsize=(9, 0.6 * len(profiles) + 1.6))
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
    axis.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    figure.tight_layout()
    return figure

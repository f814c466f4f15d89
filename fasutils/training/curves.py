"""Training curves: losses, accuracies and validation AUC per epoch of a training history, in one figure.

Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt


def training_curves(history: Sequence[dict]) -> plt.Figure:
    """Losses, accuracies and validation AUC per epoch of a :func:`fasutils.training.loop.train` history, and for a
    fine-tune the distance of the weights from the source's."""
    epochs = [row["epoch"] for row in history]
    anchored = any(row.get("anchor_distance") is not None for row in history)
    figure, axes = plt.subplots(1, 4 if anchored else 3, figsize=(18 if anchored else 14, 3.6))
    losses, accuracy, auc = axes[:3]
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
    labels = [(losses, "loss"), (accuracy, "accuracy"), (auc, "AUC")]
    if anchored:  # a fine-tune: how far the weights moved from the source's (the L2-SP distance)
        axes[3].plot(epochs, [row.get("anchor_distance") for row in history], marker=".", color="tab:purple")
        axes[3].set_title("distance from the source weights")
        labels.append((axes[3], "||w - w_source||"))
    for axis, ylabel in labels:
        axis.set_xlabel("epoch")
        axis.set_ylabel(ylabel)
    losses.legend()
    accuracy.legend()
    figure.tight_layout()
    return figure

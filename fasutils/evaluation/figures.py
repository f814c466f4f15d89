"""Figures of the PAD metrics: ROC and DET curves, score histograms, confusion matrices, score agreement.

The metrics compute (:mod:`fasutils.evaluation.metrics`), these draw, as in scikit-learn, where plotting lives
apart and imports matplotlib only when drawing. :func:`report_figures` makes the evaluation report's figures as
:class:`matplotlib.figure.Figure` objects without pyplot, so a notebook's backend and open figures stay
untouched; :func:`score_agreement` compares one model's P(live) with a reference's, e.g. an INT8 export's with
its FP32 original (``04_onnx_int8_export.ipynb``). Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import NormalDist

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator

from fasutils.evaluation.metrics import PadReport
from fasutils.evaluation.rates import Det, percent


def score_agreement(reference: np.ndarray, others: Mapping[str, np.ndarray], threshold: float,
                    reference_name: str = "FP32") -> plt.Figure:
    """One scatter per model: its P(live) against the reference's on the same samples, with the threshold
    drawn on both axes; points off the diagonal quadrants are decisions that changed."""
    figure, axes = plt.subplots(1, len(others), figsize=(3.6 * len(others), 3.6), squeeze=False)
    for axis, (name, scores) in zip(axes.flat, others.items(), strict=True):
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


DET_TICKS = (1e-5, 1e-4, 1e-3, 1e-2, 5e-2, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99)


def draw_det(axis: Axes, curves: Mapping[str, Det], marks: Mapping[str, tuple[float, float]] | None = None) -> None:
    """DET curves on probit (normal-deviate) axes with ticks in percent; ``marks`` are (FPR, FNR) points.

    x: attacks accepted (FPR, pooled APCER); y: live rejected (FNR = BPCER). Lower left is better; the dashed
    diagonal meets each curve at its EER. Rates of 0 and 1 sit on the axis edges.
    """
    rates = np.concatenate([np.r_[curve.fpr, curve.fnr] for curve in curves.values()] + [np.array([1e-3])])
    low = min(1e-3, max(1e-5, rates[rates > 0].min())) * 0.8
    high = 0.995
    probit = np.vectorize(NormalDist().inv_cdf)

    def place(rates: np.ndarray) -> np.ndarray:
        return probit(np.clip(np.asarray(rates, dtype=float), low, high))

    for name, curve in curves.items():
        line, = axis.plot(place(curve.fpr), place(curve.fnr), label=name)
        if marks and name in marks:
            axis.plot(*place(marks[name]), "o", color=line.get_color())
    axis.plot(place([low, high]), place([low, high]), "--", color="grey", linewidth=0.8, label="FPR = FNR (EER)")
    ticks = [tick for tick in DET_TICKS if low <= tick <= high]
    for set_lim, set_axis in ((axis.set_xlim, axis.xaxis), (axis.set_ylim, axis.yaxis)):
        set_lim(place([low, high]))
        set_axis.set_major_locator(FixedLocator(place(ticks)))
        set_axis.set_ticklabels([f"{100 * tick:g}%" for tick in ticks])
    axis.set_xlabel("attacks accepted as live (FPR, pooled APCER)")
    axis.set_ylabel("live rejected (FNR = BPCER)")
    axis.grid(True, linewidth=0.3)
    axis.legend(fontsize=8)


def draw_roc(axis: Axes, reports: Sequence[PadReport]) -> None:
    """ROC curves of several models on one axis, each with its threshold's operating point."""
    for report in reports:
        line, = axis.plot(report.roc.fpr, report.roc.tpr, label=f"{report.model} (AUC {report.roc.auc:.4f})")
        axis.plot(report.rates.apcer_pooled, 1 - report.rates.bpcer, "o", color=line.get_color())
    axis.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8, label="chance")
    axis.set_xlabel("attacks accepted as live (FPR, pooled APCER)")
    axis.set_ylabel("live accepted (TPR = 1 - BPCER)")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.01)
    axis.grid(True, linewidth=0.3)
    axis.legend(fontsize=8, loc="lower right")


def draw_score_histogram(axis: Axes, report: PadReport) -> None:
    """One model's score distribution per attack type (share of the type's samples per bin) and its threshold."""
    edges = np.array(report.histogram.edges)
    for kind, counts in report.histogram.counts.items():
        shares = np.array(counts) / max(sum(counts), 1)
        axis.stairs(shares, edges, label=f"{kind} ({sum(counts)})", linewidth=2.2 if kind == "live" else 1.2)
    axis.axvline(report.threshold.value, linestyle="--", color="black", linewidth=1, label="threshold")
    axis.set_title(report.model, fontsize=10)
    axis.set_xlabel("score = P(live)")
    axis.set_ylabel("share of the type's samples")
    axis.legend(fontsize=7)


def draw_confusion(axis: Axes, report: PadReport) -> None:
    """One model's 2x2 confusion matrix: counts and row percentages."""
    labels, matrix = report.confusion.labels, np.array(report.confusion.matrix)
    shares = matrix / matrix.sum(axis=1, keepdims=True)
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, f"{count}\n{percent(shares[row, column])}", ha="center", va="center",
                  color="white" if shares[row, column] > 0.6 else "black")
    axis.set_xticks([0, 1], [f"decided {label}" for label in labels])
    axis.set_yticks([0, 1], [f"true {label}" for label in labels])
    axis.set_title(report.model, fontsize=10)


def report_figures(reports: Sequence[PadReport]) -> dict[str, Figure]:
    """The report's figures, keyed like :data:`fasutils.evaluation.report.CAPTIONS`; made without pyplot
    (``display(figure)`` shows one)."""
    roc, det = Figure(figsize=(6, 5), layout="constrained"), Figure(figsize=(6, 5), layout="constrained")
    draw_roc(roc.add_subplot(), reports)
    draw_det(det.add_subplot(), {report.model: report.det for report in reports},
             {report.model: (report.rates.apcer_pooled, report.rates.bpcer) for report in reports})
    figures = {"roc": roc, "det": det}
    for key, draw, height in (("histograms", draw_score_histogram, 3.6), ("confusion", draw_confusion, 3.2)):
        figure = Figure(figsize=(4.6 * len(reports), height), layout="constrained")
        for axis, report in zip(figure.subplots(1, len(reports), squeeze=False)[0], reports, strict=True):
            draw(axis, report)
        figures[key] = figure
    return figures

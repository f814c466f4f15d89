"""Figures of benchmark results (matplotlib; each function returns its figure, notebooks call ``plt.show()``).

Where the time goes by operator type (:func:`fasutils.benchmark.runners.profile_ops` tables), latency against file
size, the distribution of every timed call, and thread scaling (:func:`fasutils.benchmark.suite.run_benchmark`
results). :func:`operator_times` is introduced in ``04_onnx_int8_export.ipynb``, the others in
``06_benchmarking.ipynb``.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def operator_times(profiles: Mapping[str, pd.DataFrame], top: int = 6) -> plt.Figure:
    """Stacked bars of run time per operator type (``fasutils.benchmark.runners.profile_ops`` tables), one bar per
    model; the ``top`` costliest operators of each get their own colour, the rest is "other"."""
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
    per task (the ``models`` and ``table`` of ``fasutils.benchmark.suite.run_benchmark``), both axes logarithmic."""
    single = table[(table["batch"] == 1) & (table["threads"] == threads)].set_index("model")["p50 ms"]
    figure, axis = plt.subplots(figsize=(9, 5.5))
    for (task, group), marker in zip(models.loc[single.index].groupby("task", sort=False), "os^D", strict=False):
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
    """Every timed call at ``batch`` (the ``samples`` of :func:`fasutils.benchmark.suite.run_benchmark`) as box
    plots, one row per model and one panel per thread count; boxes span p25-p75, whiskers p1-p99, dots the calls
    beyond."""
    chosen = samples[samples["batch"] == batch]
    names, counts = list(dict.fromkeys(chosen["model"])), sorted(chosen["threads"].unique())
    figure, axes = plt.subplots(1, len(counts), figsize=(6 * len(counts), 0.4 * len(names) + 1.6), sharex=True,
                                sharey=True, squeeze=False)
    for axis, count in zip(axes.flat, counts, strict=True):
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
    """Speed-up of each model's p50 at ``batch`` over its p50 on the fewest threads timed (the ``table`` of
    :func:`fasutils.benchmark.suite.run_benchmark`), one bar per model and thread count; dotted lines mark no gain
    and perfect scaling."""
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

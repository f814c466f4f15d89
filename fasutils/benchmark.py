"""Latency measured fairly on a shared, noisy machine: interleaved rounds, percentiles, paired ratios, profiles.

All models under test run in the same process, round-robin: in each round every model runs ``per_round`` times
in turn, so a burst of load from elsewhere hits all of them alike. A ratio to the baseline is taken per round
(median of the model / median of the baseline in that round) and the median of those paired ratios is reported.
Speed targets live here and in the notebooks, never in timed unit tests. Introduced in
``04_onnx_int8_export.ipynb``; notebook 06 builds on it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.onnx_export import OnnxModelError, load_onnx, session


def interleaved_latency(runners: Mapping[str, Callable[[], object]], *, rounds: int = 5, per_round: int = 50,
                        warmup: int = 20, progress: bool = True) -> pd.DataFrame:
    """Time each runner ``rounds x per_round`` times, interleaved; one row per call: model, round, ms."""
    if not runners:
        raise ValueError("no runners to time")
    for run in runners.values():
        for _ in range(warmup):
            run()
    rows = []
    for round_index in tqdm(range(rounds), desc="latency rounds", disable=not progress, leave=False):
        for name, run in runners.items():
            for _ in range(per_round):
                start = time.perf_counter()
                run()
                rows.append((name, round_index, (time.perf_counter() - start) * 1e3))
    return pd.DataFrame(rows, columns=["model", "round", "ms"])


def latency_table(samples: pd.DataFrame, baseline: str | None = None, batch: int = 1) -> pd.DataFrame:
    """p50/p90/p99 ms and images/s per model; with ``baseline``, the median of per-round paired ratios."""
    grouped = samples.groupby("model", sort=False)["ms"]
    table = pd.DataFrame({"p50 ms": grouped.median(), "p90 ms": grouped.quantile(0.9),
                          "p99 ms": grouped.quantile(0.99)})
    table["images/s"] = batch * 1e3 / table["p50 ms"]
    if baseline is not None:
        if baseline not in table.index:
            raise ValueError(f"baseline {baseline!r} is not among the timed models {list(table.index)}")
        per_round = samples.groupby(["model", "round"])["ms"].median().unstack("round")  # (models, rounds)
        table[f"× {baseline} (paired)"] = (per_round / per_round.loc[baseline]).median(axis=1)
    return table


def onnx_runner(path: str | Path, inputs: np.ndarray, threads: int, optimization: str = "all") -> Callable[[], object]:
    """A zero-argument call running the ONNX model at ``path`` once on ``inputs`` (its session built now)."""
    runner = session(path, threads=threads, optimization=optimization)
    feed = {runner.get_inputs()[0].name: np.ascontiguousarray(inputs, dtype=np.float32)}
    return lambda: runner.run(None, feed)


def profile_ops(path: str | Path, inputs: np.ndarray, *, threads: int = 1, runs: int = 100) -> pd.DataFrame:
    """onnxruntime's profiler over ``runs`` calls: time per run by operator type, after graph optimisation.

    Columns: ms per run, share of the total, kernels per run, and whether the kernel computes in integers.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    load_onnx(path)  # a clear error for a file that is not ONNX
    with tempfile.TemporaryDirectory() as scratch:
        options.enable_profiling, options.profile_file_prefix = True, os.path.join(scratch, "profile")
        try:
            runner = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's own exception types
            raise OnnxModelError(f"{path}: onnxruntime cannot load it ({str(error).splitlines()[0]})") from None
        feed = {runner.get_inputs()[0].name: np.ascontiguousarray(inputs, dtype=np.float32)}
        for _ in range(runs):
            runner.run(None, feed)
        events = json.loads(Path(runner.end_profiling()).read_text())
    kernels = pd.DataFrame([(e["args"]["op_name"], e["dur"]) for e in events
                            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")], columns=["op", "us"])
    table = kernels.groupby("op")["us"].agg(["sum", "count"]).sort_values("sum", ascending=False)
    result = pd.DataFrame({"ms per run": table["sum"] / runs / 1e3, "share": table["sum"] / table["sum"].sum(),
                           "kernels per run": table["count"] / runs})
    result["integer"] = [op.startswith(("QLinear", "QGemm", "ConvInteger", "MatMulInteger", "DynamicQuantize"))
                         for op in result.index]
    return result

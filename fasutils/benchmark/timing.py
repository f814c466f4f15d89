"""Speed measured fairly on a shared, noisy machine: interleaved rounds, percentiles and paired ratios.

All models under test run in the same process, round-robin: in each round every model runs ``per_round`` times
in turn, so a burst of load from elsewhere hits all of them alike. A ratio to the baseline is taken per round
(median of the model / median of the baseline in that round) and the median of those paired ratios is reported.
Speed targets live here and in the notebooks, never in timed unit tests. Introduced in
``04_onnx_int8_export.ipynb``; ``06_benchmarking.ipynb`` builds the suite's benchmark on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import pandas as pd
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.core.errors import BenchmarkError

RATIO = "× baseline (paired)"


def interleaved_latency(runners: Mapping[str, Callable[[], object]], *, rounds: int = 5, per_round: int = 50,
                        warmup: int = 20, progress: bool = True) -> pd.DataFrame:
    """Time each runner ``rounds x per_round`` times, interleaved; one row per call: model, round, ms."""
    if not runners:
        raise BenchmarkError("no runners to time")
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


def paired_ratios(samples: pd.DataFrame, baseline: str) -> pd.Series:
    """Per model of ``samples``: the median over rounds of (its median ms in the round / the baseline's)."""
    per_round = samples.groupby(["model", "round"])["ms"].median().unstack("round")  # (models, rounds)
    if baseline not in per_round.index:
        raise BenchmarkError(f"baseline {baseline!r} is not among the timed models {list(per_round.index)}")
    return (per_round / per_round.loc[baseline]).median(axis=1)


def latency_table(samples: pd.DataFrame, baseline: str | None = None, batch: int = 1) -> pd.DataFrame:
    """p50/p90/p99 ms and images/s per model; with ``baseline``, the median of per-round paired ratios."""
    grouped = samples.groupby("model", sort=False)["ms"]
    table = pd.DataFrame({"p50 ms": grouped.median(), "p90 ms": grouped.quantile(0.9),
                          "p99 ms": grouped.quantile(0.99)})
    table["images/s"] = batch * 1e3 / table["p50 ms"]
    if baseline is not None:
        table[f"× {baseline} (paired)"] = paired_ratios(samples, baseline)
    return table

"""Per-protocol results of a dataset with published protocols (OULU-NPU), as papers report them.

Each protocol names its development and test videos (:func:`fasutils.data.oulu_npu.protocol_lists`). For each
model and protocol the threshold is chosen on that protocol's development videos (by the report's rule, or the
fixed threshold), then the test videos give APCER (the worst attack type: print or replay), BPCER and ACER, with
the non-responses (APNRR, BPNRR) beside them. The summary is the table papers print: ACER of protocols 1 and 2,
and of protocols 3 and 4 the mean ± sample standard deviation (n - 1) over their six sub-protocols. The rows are
the evaluated level's (per video by default), so every video is scored once for all protocols.
Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

import pandas as pd

from fasutils.core.errors import EvaluationError
from fasutils.evaluation.metrics import ScoreSet
from fasutils.evaluation.rates import NonResponses, percent
from fasutils.evaluation.scores import split_responses

if TYPE_CHECKING:
    from fasutils.evaluation.from_scores import ScoreOptions

ProtocolLists = Mapping[str, Mapping[str, Sequence[str]]]  # protocol -> split ("dev", "test") -> video names
STD_NOTE = ("protocols with sub-protocols (OULU-NPU 3 and 4): mean ± sample standard deviation (n - 1) of the "
            "sub-protocols' ACER")


def _protocol_row(rows: pd.DataFrame, keys: pd.Series, model: str, protocol: str, splits: Mapping[str, Sequence[str]],
                  options: ScoreOptions) -> dict:
    """One model on one protocol: samples (scored or not) of each split, threshold, test error rates."""
    dev_rows, test_rows = rows[keys.isin(set(splits["dev"]))], rows[keys.isin(set(splits["test"]))]
    dev = split_responses(dev_rows)[0]
    test, missing, reasons = split_responses(test_rows)
    if test.empty:
        raise EvaluationError(f"protocol {protocol}: none of its {len(splits['test'])} test videos has a score for "
                              f"{model}")
    try:
        if options.threshold is not None:
            threshold = options.threshold
        else:
            threshold = ScoreSet.of(dev["score"].to_numpy(), dev["attack_type"].tolist()).threshold(
                options.rule, options.target).value
        measured = ScoreSet.of(test["score"].to_numpy(), test["attack_type"].tolist())
    except EvaluationError as error:
        raise EvaluationError(f"{model}, protocol {protocol} ({len(dev)} development and {len(test)} test videos "
                              f"scored): {error}") from None
    rates = measured.error_rates(threshold)
    silent = NonResponses.of(measured.counts(), missing, reasons)
    return {"model": model, "protocol": protocol, "dev": len(dev_rows), "test": len(test_rows),
            "threshold": float(threshold),
            "apcer": rates.apcer_max, "worst_attack_type": rates.worst_type, "bpcer": rates.bpcer, "acer": rates.acer,
            "apnrr_max": silent.apnrr[silent.worst_type], "bpnrr": silent.bpnrr}


def _summary(results: pd.DataFrame) -> list[dict]:
    """ACER per protocol family: the value itself, or mean ± sample std over the sub-protocols."""
    families = results.assign(family=results["protocol"].str.split("_").str[0])
    rows = []
    for (model, family), group in families.groupby(["model", "family"], sort=False):
        values = group["acer"]
        spread = float(values.std()) if len(values) > 1 else None
        shown = percent(values.mean()) + (f" ± {percent(spread)}" if spread is not None else "")
        rows.append({"model": model, "protocol": family, "n": len(values), "acer_mean": float(values.mean()),
                     "acer_std": spread, "acer": shown})
    return rows


def protocol_results(rows: pd.DataFrame, lists: ProtocolLists, options: ScoreOptions) -> dict:
    """Per model and protocol, the row of :func:`_protocol_row`; and the papers' summary. ``rows`` hold every
    development and test sample at the evaluated level, matched to the lists by their file name's stem."""
    if not lists:
        raise EvaluationError("no protocol lists found (OULU-NPU: Protocols/Protocol_N/{Train,Dev,Test}.txt)")
    keys = rows["path"].map(lambda path: PurePath(path).stem)
    results = pd.DataFrame([_protocol_row(rows[rows["model"] == model], keys[rows["model"] == model], model,
                                          protocol, splits, options)
                            for model in dict.fromkeys(rows["model"]) for protocol, splits in lists.items()])
    rule = "fixed" if options.threshold is not None else options.rule
    return {"threshold": f"{rule}, chosen on each protocol's development videos" if rule != "fixed"
            else f"fixed at {options.threshold}", "note": STD_NOTE, "rows": results.to_dict("records"),
            "summary": _summary(results)}

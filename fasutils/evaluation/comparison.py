"""Models compared on the same samples: how far each stays from a reference model (e.g. INT8 and ONNX exports
against their FP32 original), in AUC, accuracy, error rates, decisions and P(live).

The figure beside it is :func:`fasutils.evaluation.figures.score_agreement`. Introduced in
``04_onnx_int8_export.ipynb``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fasutils.evaluation.metrics import ScoreSet


def accuracy_table(scores: Mapping[str, np.ndarray], attack_types: Sequence[str], threshold: float,
                   reference: str) -> pd.DataFrame:
    """Per model, on the same samples: AUC, accuracy, worst-type APCER, BPCER at ``threshold`` (P(live) >=
    threshold accepts), and how far each stays from ``reference``: AUC drop, decisions agreeing, max |Δ P(live)|."""
    base = scores[reference]
    base_auc = ScoreSet.of(base, attack_types).roc().auc
    rows = {}
    for name, live in scores.items():
        measured = ScoreSet.of(live, attack_types)
        rates, auc, accepted = measured.error_rates(threshold), measured.roc().auc, live >= threshold
        rows[name] = {"AUC": auc, "accuracy": float(np.mean(accepted == measured.is_live)),
                      "APCER (worst type)": rates.apcer_max, "BPCER": rates.bpcer,
                      f"AUC drop vs {reference}": base_auc - auc,
                      f"decisions agreeing with {reference}": float(np.mean(accepted == (base >= threshold))),
                      f"max |Δ P(live)| vs {reference}": float(np.abs(live - base).max())}
    return pd.DataFrame.from_dict(rows, orient="index")

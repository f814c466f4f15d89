"""Choosing the shipped model on real faces: runs and epochs compared where it matters, not on the simulator alone.

The real-data yardstick (:mod:`fasutils.evaluation.yardstick`) is split by subject into two halves
(:func:`yardstick_half`, a stable hash): the **select** half fixes each candidate's operating point and chooses
among candidates; the **report** half is only measured, so its numbers were not used to choose anything.

For each candidate (a model file: every kept epoch of a run, a published model ...), :func:`candidate_table`
computes:

- ``threshold``: the P(live) threshold at which ``bpcer_target`` (default 5 %) of the real live faces of the
  select half are rejected (:func:`bpcer_threshold`). The synthetic validation split cannot place it: its live
  faces come from our camera model, not from real cameras. Minivision's samples are targets of their own (T1, F1,
  F2 below), not in the halves, unless they are the only real faces (offline, QUICK): then the threshold is
  placed on all real live faces and ``threshold_on`` says so;
- ``synthetic_apcer``: the worst-type APCER (ISO/IEC 30107-3) of a synthetic split's attacks at that threshold
  (the validation split to choose, the test split to report): how many simulated attacks still pass when real
  people are accepted 95 % of the time;
- ``synthetic_auc`` on that split, ``select_bpcer`` and ``report_bpcer`` on the two halves, and P(live) of the
  real samples T1 (live), F1 (print), F2 (replay).

:func:`choose` picks the lowest ``synthetic_apcer`` on the validation split (the earliest candidate on a tie)
among the candidates that decide the three real samples right (T1 accepted, F1 and F2 rejected): two real attack
photos are too few to score by, but a model that lets one of them through is not shipped. Introduced in
``03_training.ipynb``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from fasutils.core.errors import EvaluationError
from fasutils.core.images import read_image
from fasutils.data.records import Record
from fasutils.evaluation.metrics import ScoreSet
from fasutils.evaluation.rates import LIVE
from fasutils.evaluation.yardstick import SAMPLES_SOURCE, FoundFaces, score_yardstick
from fasutils.export.classifiers import Classifier, load_classifier

HALVES = ("select", "report")
BPCER_TARGET = 0.05
COLUMNS = ("candidate", "threshold", "threshold_on", "synthetic_apcer", "synthetic_auc", "select_bpcer",
           "report_bpcer", "report_faces", "T1", "F1", "F2")


def yardstick_half(subject: str) -> str:
    """"select" or "report" for a yardstick subject: a stable hash, so a person never lands in both halves."""
    return HALVES[hashlib.sha256(subject.encode()).digest()[0] % 2]


def bpcer_threshold(live_scores: Sequence[float] | np.ndarray, target: float = BPCER_TARGET) -> float:
    """The highest P(live) threshold that rejects at most ``target`` of ``live_scores`` (rejected: score below it)."""
    scores = np.sort(np.asarray(live_scores, dtype=np.float64))
    if not len(scores) or not np.isfinite(scores).all():
        raise EvaluationError(f"the BPCER threshold needs finite live scores, not {len(scores)} with NaN or none")
    if not 0 <= target < 1:
        raise EvaluationError(f"the BPCER target must lie in [0, 1), not {target}")
    return float(scores[int(np.floor(target * len(scores)))])


class SplitImages:
    """A split of the synthetic dataset read once (images, face boxes, attack types) to score any model on it."""

    def __init__(self, records: Sequence[Record], progress: bool = False) -> None:
        missing = [record.path for record in records if record.box is None]
        if missing or not records:
            raise EvaluationError(f"scoring a split needs records with face boxes ({len(missing)} of "
                                  f"{len(records)} have none)")
        self.images = [read_image(r.path) for r in tqdm(records, desc="reading images", disable=not progress)]
        self.boxes = [record.box for record in records]
        self.types = [record.attack_type for record in records]

    def scores(self, classifier: Classifier) -> ScoreSet:
        return ScoreSet.of(classifier.live_probability(self.images, self.boxes), self.types)


def _sample_scores(scores: pd.DataFrame) -> dict[str, float]:
    """P(live) of minivision's real samples by name: T1, F1, F2."""
    samples = scores[scores["source"] == SAMPLES_SOURCE]
    return {Path(path).stem.rsplit("_", 1)[-1]: p for path, p in zip(samples["path"], samples["p_live"], strict=True)}


def candidate_row(name: str, classifier: Classifier, found: FoundFaces, synthetic_split: SplitImages,
                  target: float = BPCER_TARGET) -> dict:
    """One row of :func:`candidate_table` (see the module docstring)."""
    scores = score_yardstick(found, [classifier], progress=False)
    live = scores[(scores["label"] == LIVE) & scores["p_live"].notna()]
    if live.empty:
        raise EvaluationError("no real live face was scored: fetch the real faces "
                              "(fasutils.data.real_faces.fetch_real_faces) to choose on them")
    others = live[live["source"] != SAMPLES_SOURCE]  # the samples are targets of their own, unless alone
    pool = others if len(others) else live
    halves = pool["subject"].map(yardstick_half)
    select, report, threshold_on = pool[halves == "select"], pool[halves == "report"], "select half"
    if select.empty:
        select, threshold_on = pool, "all real live faces (none in the select half)"
    threshold = bpcer_threshold(select["p_live"], target)
    synthetic = synthetic_split.scores(classifier)
    samples = _sample_scores(scores)
    return {"candidate": name, "threshold": threshold, "threshold_on": threshold_on,
            "synthetic_apcer": synthetic.error_rates(threshold).apcer_max, "synthetic_auc": synthetic.roc().auc,
            "select_bpcer": float((select["p_live"] < threshold).mean()),
            "report_bpcer": float((report["p_live"] < threshold).mean()) if len(report) else np.nan,
            "report_faces": len(report), **{key: samples.get(key, np.nan) for key in ("T1", "F1", "F2")}}


def candidate_table(candidates: Mapping[str, str | Path | Classifier], found: FoundFaces,
                    synthetic_split: SplitImages, target: float = BPCER_TARGET,
                    progress: bool = True) -> pd.DataFrame:
    """One row per candidate (name -> model file, published name or classifier), columns :data:`COLUMNS`."""
    rows = []
    for name, spec in tqdm(candidates.items(), desc="candidates", unit="model", disable=not progress):
        classifier = spec if isinstance(spec, Classifier) else load_classifier(spec)
        rows.append(candidate_row(name, classifier, found, synthetic_split, target))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def real_samples_right(table: pd.DataFrame) -> pd.Series:
    """Per candidate: whether its threshold accepts T1 and rejects F1 and F2 (a sample not scored counts as right)."""
    live = table["T1"].isna() | (table["T1"] >= table["threshold"])
    attacks = [table[key].isna() | (table[key] < table["threshold"]) for key in ("F1", "F2")]
    return live & attacks[0] & attacks[1]


def choose(table: pd.DataFrame) -> pd.Series:
    """The candidate with the lowest ``synthetic_apcer`` among those that decide the three real samples right
    (:func:`real_samples_right`; all candidates when none does), the earliest row on a tie."""
    if table.empty:
        raise EvaluationError("no candidates to choose from")
    right = real_samples_right(table)
    eligible = table[right] if right.any() else table
    return eligible.loc[eligible["synthetic_apcer"].idxmin()]

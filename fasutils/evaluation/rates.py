"""What the PAD metrics produce, and the conventions they share: plain result records, no computation.

The score convention (:data:`SCORE_CONVENTION`: score = P(live), accepted when ``score >= threshold``), the
threshold rules (:data:`RULES`), the default operating-point targets, the evaluation levels of video scores
(:data:`LEVELS`, :data:`AGGREGATIONS`), and one frozen dataclass per result: per-type error rates
(:class:`ErrorRates`), non-response rates (:class:`NonResponses`), curves (:class:`Roc`, :class:`Det`),
:class:`Eer`, :class:`OperatingPoint`, :class:`Threshold`, :class:`Confusion`, :class:`Histogram` and
:class:`Bootstrap`. :mod:`fasutils.evaluation.metrics` computes them; this module needs only NumPy, so the CLI
reads its choice lists from here without loading scikit-learn, matplotlib or torch.
Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from fasutils.core.errors import EvaluationError
from fasutils.data.records import ATTACK_TYPES

LIVE = "live"
LIVE_CODE = ATTACK_TYPES.index(LIVE)
SCORE_CONVENTION = "score = P(live): higher is more likely bona fide; accepted as live when score >= threshold"
TPR_FPR_TARGETS = (1e-2, 5e-3, 1e-3)
APCER_TARGETS = (0.05, 0.01)  # BPCER20, BPCER100
RULES = ("apcer", "fpr", "eer")
LEVELS = ("auto", "video", "frame")  # auto: per video when the scores come from video frames, else per image
AGGREGATIONS = ("mean", "min", "max")  # how a video's frame scores become its score
BOOTSTRAP_METRICS = ("auc", "eer", "apcer", "bpcer", "acer")


def percent(rate: float) -> str:
    """A rate as the report prints it: ``0.0345`` -> ``"3.45%"``."""
    return f"{100 * rate:.2f}%"


@dataclass(frozen=True)
class TypeRow:
    """One attack type (or live) at a threshold: its samples, its errors and its mean score (None: none scored)."""

    attack_type: str
    count: int
    errors: int  # attacks accepted as live, or live samples rejected
    mean_score: float | None

    @property
    def metric(self) -> str:
        return "BPCER" if self.attack_type == LIVE else "APCER"

    @property
    def rate(self) -> float:
        return self.errors / self.count


@dataclass(frozen=True)
class ErrorRates:
    """APCER per attack type, worst and pooled, BPCER and ACER at one threshold, from one row per type."""

    threshold: float
    rows: tuple[TypeRow, ...]  # live and every attack type present, in vocabulary order

    @property
    def _attacks(self) -> list[TypeRow]:
        return [row for row in self.rows if row.attack_type != LIVE]

    @property
    def bpcer(self) -> float:
        return next(row.rate for row in self.rows if row.attack_type == LIVE)

    @property
    def apcer(self) -> dict[str, float]:
        return {row.attack_type: row.rate for row in self._attacks}

    @property
    def worst_type(self) -> str:
        """The attack type with the highest APCER (the first in vocabulary order on a tie)."""
        return max(self._attacks, key=lambda row: row.rate).attack_type

    @property
    def apcer_max(self) -> float:
        return self.apcer[self.worst_type]

    @property
    def apcer_pooled(self) -> float:
        return sum(row.errors for row in self._attacks) / sum(row.count for row in self._attacks)

    @property
    def acer(self) -> float:
        """(worst-type APCER + BPCER) / 2; deprecated by ISO/IEC 30107-3:2023 but still widely reported."""
        return (self.apcer_max + self.bpcer) / 2

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "apcer": self.apcer, "apcer_max": self.apcer_max,
                "worst_attack_type": self.worst_type, "apcer_pooled": self.apcer_pooled, "bpcer": self.bpcer,
                "acer": self.acer,
                "per_type": [{**asdict(row), "metric": row.metric, "rate": row.rate} for row in self.rows]}


@dataclass(frozen=True, eq=False)
class Roc:
    """ROC with live positive; ``thresholds[0]`` (sklearn's +inf) is the smallest float above every score."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float

    def to_dict(self) -> dict:
        return {"fpr": self.fpr.tolist(), "tpr": self.tpr.tolist(), "thresholds": self.thresholds.tolist()}


@dataclass(frozen=True, eq=False)
class Det:
    """DET curve: attacks accepted (FPR, pooled APCER) against live rejected (FNR, BPCER)."""

    fpr: np.ndarray
    fnr: np.ndarray
    thresholds: np.ndarray

    def to_dict(self) -> dict:
        return {"fpr": self.fpr.tolist(), "fnr": self.fnr.tolist(), "thresholds": self.thresholds.tolist()}


@dataclass(frozen=True)
class Eer:
    """Equal error rate (FPR = FNR) and the threshold there, both interpolated linearly between ROC points."""

    value: float
    threshold: float


@dataclass(frozen=True)
class OperatingPoint:
    """A rate at the threshold that reaches a target error rate: TPR at an FPR, or BPCER at a worst-type APCER.

    ``value``, ``threshold`` and ``achieved`` (the FPR or APCER actually reached, <= target) are None when the
    target is not reachable; ``reason`` says why. ``n_negatives`` bounds the resolution (1 / n): the attack
    samples for FPR, the smallest attack type's samples for APCER.
    """

    name: str
    target: float
    value: float | None
    threshold: float | None
    achieved: float | None
    n_negatives: int
    reason: str | None = None


@dataclass(frozen=True)
class Threshold:
    """A decision threshold and how it was chosen: by ``rule`` ("apcer", "fpr", "eer" or "fixed") on
    ``chosen_on``; ``achieved`` holds the error rates it reached there (None for a fixed threshold)."""

    value: float
    rule: str
    target: float | None
    chosen_on: str
    achieved: ErrorRates | None = None

    @classmethod
    def fixed(cls, value: float, note: str = "given") -> Threshold:
        """A threshold set by hand, e.g. ``Threshold.fixed(0.5, "the model card's threshold")``."""
        return cls(float(value), "fixed", None, note)

    def describe(self) -> str:
        """One sentence: the value, the rule and what it reached where it was chosen."""
        aims = {"apcer": f"the lowest threshold with every attack type's APCER <= {percent(self.target or 0)}",
                "fpr": f"the lowest threshold with FPR (pooled APCER) <= {percent(self.target or 0)}",
                "eer": "the equal-error-rate threshold"}
        if self.rule == "fixed" or self.achieved is None:
            return f"{self.value:.4f}: fixed ({self.chosen_on})"
        rates = self.achieved
        return (f"{self.value:.4f}: {aims[self.rule]} on the {self.chosen_on} (there: APCER {percent(rates.apcer_max)}"
                f" ({rates.worst_type}), pooled {percent(rates.apcer_pooled)}, BPCER {percent(rates.bpcer)})")

    def to_dict(self) -> dict:
        return {"value": self.value, "rule": self.rule, "target": self.target, "chosen_on": self.chosen_on,
                "description": self.describe(), "achieved": None if self.achieved is None else self.achieved.to_dict()}


@dataclass(frozen=True)
class Confusion:
    """Counts from :func:`sklearn.metrics.confusion_matrix`: rows true class, columns decision."""

    labels: tuple[str, str]
    matrix: tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Histogram:
    """Score counts per attack type over shared bin ``edges``."""

    edges: tuple[float, ...]
    counts: dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class Bootstrap:
    """Percentile confidence intervals of AUC, EER, worst-type APCER, BPCER and ACER at one threshold.

    ``unit`` "subject" resamples whole subjects; "sample" resamples samples within each attack type (so every
    type keeps its count). ``n_used`` < ``n_resamples`` when subject resamples lacked live or an attack type.
    """

    threshold: float
    unit: str
    n_resamples: int
    n_used: int
    confidence: float
    seed: int
    intervals: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class NonResponseRow:
    """One attack type (or live): its presentations (scored or not) and those that gave no decision."""

    attack_type: str
    presentations: int
    non_responses: int

    @property
    def metric(self) -> str:
        return "BPNRR" if self.attack_type == LIVE else "APNRR"

    @property
    def rate(self) -> float:
        return self.non_responses / self.presentations


@dataclass(frozen=True)
class NonResponses:
    """Presentations that gave no decision (no face found, a file that cannot be read), ISO/IEC 30107-3's attack
    and bona fide presentation non-response rates: APNRR per attack type (worst reported) and BPNRR."""

    rows: tuple[NonResponseRow, ...]  # every type presented, in vocabulary order
    reasons: dict[str, int]  # non-responses per reason

    @classmethod
    def of(cls, scored: dict[str, int], missing: dict[str, int], reasons: dict[str, int]) -> NonResponses:
        """From the scored samples and the non-responses per attack type."""
        unknown = sorted(set(missing) - set(ATTACK_TYPES))
        if unknown:
            raise EvaluationError(f"non-responses of unknown attack type(s) {', '.join(map(repr, unknown))}; the "
                                  f"vocabulary is {', '.join(ATTACK_TYPES)}")
        rows = tuple(NonResponseRow(kind, scored.get(kind, 0) + missing.get(kind, 0), missing.get(kind, 0))
                     for kind in ATTACK_TYPES if scored.get(kind, 0) + missing.get(kind, 0))
        return cls(rows, dict(reasons))

    @property
    def total(self) -> int:
        return sum(row.non_responses for row in self.rows)

    @property
    def bpnrr(self) -> float:
        return next(row.rate for row in self.rows if row.attack_type == LIVE)

    @property
    def apnrr(self) -> dict[str, float]:
        return {row.attack_type: row.rate for row in self.rows if row.attack_type != LIVE}

    @property
    def worst_type(self) -> str:
        """The attack type with the highest APNRR (the first in vocabulary order on a tie)."""
        return max(self.apnrr, key=self.apnrr.__getitem__)

    def as_rejections(self, rates: ErrorRates) -> ErrorRates:
        """``rates`` with every non-response counted as a rejection: a live one adds a BPCER error, an attack one
        a correctly rejected attack (in APCER's denominator)."""
        scored = {row.attack_type: row for row in rates.rows}
        rows = []
        for row in self.rows:
            found = scored.get(row.attack_type)
            errors = (found.errors if found else 0) + (row.non_responses if row.attack_type == LIVE else 0)
            rows.append(TypeRow(row.attack_type, row.presentations, errors, found.mean_score if found else None))
        return ErrorRates(rates.threshold, tuple(rows))

    def to_dict(self, rates: ErrorRates) -> dict:
        """The rates, the reasons, and ``rates`` read with non-responses counted as rejections."""
        return {"bpnrr": self.bpnrr, "apnrr": self.apnrr, "apnrr_max": self.apnrr[self.worst_type],
                "worst_attack_type": self.worst_type, "total": self.total, "reasons": self.reasons,
                "per_type": [{**asdict(row), "metric": row.metric, "rate": row.rate} for row in self.rows],
                "counted_as_rejections": self.as_rejections(rates).to_dict()}


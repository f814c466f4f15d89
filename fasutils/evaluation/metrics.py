"""Presentation-attack-detection metrics (ISO/IEC 30107-3) for one model's scores, on top of scikit-learn.

**Score convention, everywhere:** score = P(live), higher means more likely bona fide. A sample is *accepted as
live* when ``score >= threshold``. Labels are attack types from :data:`fasutils.data.records.ATTACK_TYPES`
("live" for bona fide; the attack types are the PAI species of the standard).

- **APCER** of an attack type: the share of its samples accepted as live. The overall APCER is the **worst
  (maximum) over attack types**, as the standard defines it; the pooled value (all attacks as one class) is
  reported too, labelled *pooled*.
- **BPCER**: the share of live samples rejected. **ACER** = (worst-type APCER + BPCER) / 2; the 2023 edition of
  the standard deprecates it, but the field still reports it.
- **ROC** with live as the positive class: TPR = live accepted = 1 - BPCER, FPR = attacks accepted = pooled
  APCER. AUC and curves come from :func:`sklearn.metrics.roc_curve` and :func:`~sklearn.metrics.det_curve`.
- **EER**: linear interpolation between the two ROC points where FPR - FNR changes sign.
- **Operating points** (TPR@FPR, BPCER@APCER) take the *lowest threshold* at which at most ``floor(target * n)``
  attacks of each group (all attacks for FPR, each attack type for APCER) are accepted, i.e. a threshold just
  above each group's ``(floor(target * n) + 1)``-th highest score. For TPR@FPR this is the ROC point with the
  largest TPR among those with FPR <= target. A target below ``1 / n`` is *not reachable*: the data cannot
  show an error rate that small.

CelebA-Spoof's official script calls its TPR at FPR = 1e-2, 5e-3, 1e-3 "10E-3, 5E-3, 10E-4"; here they are
named correctly ("TPR@FPR=1e-2"). That script also takes *spoof* as the positive class (its TPR is the share
of attacks rejected when a share FPR of live faces is rejected), so its numbers are not comparable with the
live-positive TPR@FPR here.

Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import auc as area_under_curve
from sklearn.metrics import confusion_matrix, det_curve, roc_curve

from fasutils.core.errors import EvaluationError
from fasutils.data.records import ATTACK_TYPES
from fasutils.evaluation.rates import (
    APCER_TARGETS,
    BOOTSTRAP_METRICS,
    LIVE,
    LIVE_CODE,
    RULES,
    SCORE_CONVENTION,
    TPR_FPR_TARGETS,
    Bootstrap,
    Confusion,
    Det,
    Eer,
    ErrorRates,
    Histogram,
    NonResponses,
    OperatingPoint,
    Roc,
    Threshold,
    TypeRow,
    percent,
)


def _target_name(target: float) -> str:
    """``0.01`` -> ``"1e-2"`` (not CelebA-Spoof's "10E-3")."""
    mantissa, exponent = f"{target:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _check_target(target: float, rate: str) -> None:
    if not 0 < target < 1:
        raise EvaluationError(f"target {rate} must lie between 0 and 1 (exclusive), not {target}")


def _lowest_threshold(groups: Mapping[str, np.ndarray], target: float, rate: str) -> float:
    """Lowest threshold accepting at most ``floor(target * n)`` of each group's ``n`` attack scores.

    That is just above the highest of the groups' ``(floor(target * n) + 1)``-th highest scores. Raises
    :class:`EvaluationError` when a group has fewer than ``1 / target`` samples: one accepted sample is too many.
    """
    bound = -np.inf
    for name, group in groups.items():
        allowed = math.floor(target * len(group) + 1e-9)  # tolerance: 0.29 * 100 is 28.999999999999996
        if allowed == 0:
            raise EvaluationError(f"{rate} <= {percent(target)} cannot be measured with {len(group)} {name} samples "
                                  f"(one accepted is already {percent(1 / len(group))}); it needs at least "
                                  f"{math.ceil(1 / target - 1e-9)}")
        bound = max(bound, np.sort(group)[::-1][allowed])
    return float(np.nextafter(bound, np.inf))


def _eer(roc: Roc) -> Eer:
    gap = roc.fpr - (1 - roc.tpr)  # FPR - FNR: rises from -1 (accept nobody) to 1 (accept all)
    after = int(np.argmax(gap >= 0))  # the first point with FPR >= FNR; the one before has FPR < FNR
    before = after - 1
    back = gap[after] / (gap[after] - gap[before])  # share of the way back from `after`: 0 when it hits exactly
    return Eer(float(roc.fpr[after] + back * (roc.fpr[before] - roc.fpr[after])),
               float(roc.thresholds[after] + back * (roc.thresholds[before] - roc.thresholds[after])))


@dataclass(frozen=True, eq=False)
class ScoreSet:
    """One model's scores on one dataset with their labels, checked once; each metric is a method.

    ``codes`` is each sample's index in :data:`~fasutils.data.records.ATTACK_TYPES` (:data:`LIVE_CODE` for live),
    ``subjects`` an integer subject id per sample or None. Build it from strings with :meth:`of`.
    """

    scores: np.ndarray
    codes: np.ndarray
    subjects: np.ndarray | None = None

    def __post_init__(self) -> None:
        lengths = {len(self.scores), len(self.codes)} | ({len(self.subjects)} if self.subjects is not None else set())
        if self.scores.ndim != 1 or len(lengths) != 1 or not np.isin(self.codes, range(len(ATTACK_TYPES))).all():
            raise EvaluationError(f"scores {self.scores.shape}, codes {self.codes.shape} and subjects "
                                  f"{None if self.subjects is None else self.subjects.shape} must be equally long 1-D "
                                  f"arrays, codes 0-{len(ATTACK_TYPES) - 1}; build them with ScoreSet.of")
        if not len(self.scores):
            raise EvaluationError("no scores: the input is empty")
        bad = np.flatnonzero(~np.isfinite(self.scores))
        if len(bad):
            raise EvaluationError(f"scores contain {len(bad)} NaN or infinite value(s), the first at index {bad[0]} "
                                  f"({self.scores[bad[0]]}); score every sample or leave the unscored ones out")
        counts = self.counts()
        if LIVE not in counts:
            found = ", ".join(f"{kind} {count}" for kind, count in counts.items())
            raise EvaluationError(f"ROC undefined: only attack samples ({found}), no live samples")
        if len(counts) == 1:
            raise EvaluationError(f"ROC undefined: only live samples ({counts[LIVE]}), no attack samples")

    @classmethod
    def of(cls, scores: Sequence[float] | np.ndarray, attack_types: Sequence[str] | np.ndarray,
           subjects: Sequence[object] | np.ndarray | None = None) -> ScoreSet:
        """Check and convert: scores (P(live)), one attack-type word per sample, optional subject ids."""
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 1:
            raise EvaluationError(f"scores must hold one value per sample (1-D), not shape {scores.shape}; "
                                  "for class probabilities pass the live column")
        types = np.asarray(attack_types)
        if types.dtype == bool:
            raise EvaluationError("labels must be attack-type words, not booleans; for live/spoof flags pass "
                                  "np.where(is_live, 'live', 'other')")
        if len(types) != len(scores):
            raise EvaluationError(f"{len(scores)} scores but {len(types)} attack types")
        index = {kind: code for code, kind in enumerate(ATTACK_TYPES)}
        codes = np.array([index.get(kind, -1) for kind in types.tolist()], dtype=np.int64)
        unknown = np.flatnonzero(codes < 0)
        if len(unknown):
            names = ", ".join(repr(name) for name in dict.fromkeys(types[unknown].tolist()))
            raise EvaluationError(f"unknown attack type(s) {names} ({len(unknown)} samples, the first at index "
                                  f"{unknown[0]}); the vocabulary is {', '.join(ATTACK_TYPES)}")
        return cls(scores, codes, None if subjects is None else cls._subject_ids(subjects, len(scores)))

    @staticmethod
    def _subject_ids(subjects: Sequence[object] | np.ndarray, n: int) -> np.ndarray:
        subjects = list(subjects)
        if len(subjects) != n:
            raise EvaluationError(f"{n} scores but {len(subjects)} subject ids")
        missing = [i for i, subject in enumerate(subjects) if subject is None or str(subject) == ""]
        if missing:
            raise EvaluationError(f"{len(missing)} samples have no subject id (the first at index {missing[0]}); give "
                                  "every sample one, or pass subjects=None to resample samples instead of subjects")
        return np.unique([str(subject) for subject in subjects], return_inverse=True)[1]

    @property
    def is_live(self) -> np.ndarray:
        return self.codes == LIVE_CODE

    def counts(self) -> dict[str, int]:
        """Samples per attack type present, in vocabulary order."""
        counts = np.bincount(self.codes, minlength=len(ATTACK_TYPES))
        return {kind: int(count) for kind, count in zip(ATTACK_TYPES, counts, strict=True) if count}

    def take(self, index: np.ndarray) -> ScoreSet:
        """The samples at ``index`` (e.g. one bootstrap resample)."""
        return ScoreSet(self.scores[index], self.codes[index],
                        None if self.subjects is None else self.subjects[index])

    def _groups(self, rate: str) -> dict[str, np.ndarray]:
        """Attack scores grouped as ``rate`` counts them: one pooled group for FPR, one per type for APCER."""
        if rate == "FPR":
            return {"attack": self.scores[~self.is_live]}
        present = self.counts()
        return {kind: self.scores[self.codes == code] for code, kind in enumerate(ATTACK_TYPES)
                if code != LIVE_CODE and kind in present}

    def roc(self, drop_intermediate: bool = False) -> Roc:
        """ROC (live positive) and its AUC; ``drop_intermediate`` leaves out collinear points (same curve)."""
        fpr, tpr, thresholds = roc_curve(self.is_live, self.scores, drop_intermediate=drop_intermediate)
        thresholds[0] = np.nextafter(self.scores.max(), np.inf)  # sklearn's +inf: accepts nobody, kept finite
        return Roc(fpr, tpr, thresholds, float(area_under_curve(fpr, tpr)))

    def eer(self) -> Eer:
        """EER where FPR - FNR crosses zero, interpolated linearly between the two ROC points around it."""
        return _eer(self.roc())

    def det(self, drop_intermediate: bool = False) -> Det:
        """DET curve; the +inf threshold scikit-learn adds when an attack scores highest (FPR 0, FNR 1) is kept
        finite, as the ROC's is."""
        fpr, fnr, thresholds = det_curve(self.is_live, self.scores, drop_intermediate=drop_intermediate)
        thresholds[np.isinf(thresholds)] = np.nextafter(self.scores.max(), np.inf)
        return Det(fpr, fnr, thresholds)

    def error_rates(self, threshold: float) -> ErrorRates:
        """Per-type counts, errors and mean scores at ``threshold``, from which APCER, BPCER, ACER follow."""
        errors = (self.scores >= threshold) != self.is_live  # attack accepted or live rejected
        size = len(ATTACK_TYPES)
        counts = np.bincount(self.codes, minlength=size)
        wrong = np.bincount(self.codes, weights=errors, minlength=size)
        sums = np.bincount(self.codes, weights=self.scores, minlength=size)
        rows = tuple(TypeRow(kind, int(counts[code]), int(wrong[code]), float(sums[code] / counts[code]))
                     for code, kind in enumerate(ATTACK_TYPES) if counts[code])
        return ErrorRates(float(threshold), rows)

    def confusion(self, threshold: float) -> Confusion:
        """Live / attack against accepted / rejected at ``threshold``."""
        labels = (LIVE, "attack")
        truth = np.where(self.is_live, *labels)
        decision = np.where(self.scores >= threshold, *labels)
        matrix = confusion_matrix(truth, decision, labels=list(labels))
        return Confusion(labels, tuple(tuple(int(v) for v in row) for row in matrix))

    def _operating_point(self, name: str, target: float, rate: str) -> OperatingPoint:
        _check_target(target, rate)
        groups = self._groups(rate)
        smallest = min(len(group) for group in groups.values())
        try:
            threshold = _lowest_threshold(groups, target, rate)
        except EvaluationError as problem:
            return OperatingPoint(name, float(target), None, None, None, smallest, f"not reachable: {problem}")
        rates = self.error_rates(threshold)
        value, achieved = (1 - rates.bpcer, rates.apcer_pooled) if rate == "FPR" else (rates.bpcer, rates.apcer_max)
        return OperatingPoint(name, float(target), value, threshold, achieved, smallest)

    def tpr_at_fpr(self, targets: Sequence[float] = TPR_FPR_TARGETS) -> tuple[OperatingPoint, ...]:
        """TPR (live accepted) at each target FPR (attacks accepted, all types pooled), e.g. "TPR@FPR=1e-2"."""
        return tuple(self._operating_point(f"TPR@FPR={_target_name(t)}", t, "FPR") for t in targets)

    def bpcer_at_apcer(self, targets: Sequence[float] = APCER_TARGETS) -> tuple[OperatingPoint, ...]:
        """BPCER where every attack type's APCER <= target: BPCER20 at 5 %, BPCER100 at 1 %."""
        return tuple(self._operating_point(f"BPCER{1 / t:g}", t, "APCER") for t in targets)

    def threshold(self, rule: str = "apcer", target: float | None = 0.05,
                  chosen_on: str = "development split") -> Threshold:
        """The threshold ``rule`` picks on these scores: "apcer" (lowest with every type's APCER <= target),
        "fpr" (lowest with pooled APCER <= target) or "eer" (target ignored). Raises :class:`EvaluationError`
        when the target is below 1 / n for a group of n attack samples."""
        if rule not in RULES:
            raise EvaluationError(f"unknown threshold rule {rule!r}; choose one of {', '.join(RULES)}")
        if rule == "eer":
            value, target = self.eer().threshold, None
        else:
            rate = rule.upper()
            if target is None:
                raise EvaluationError(f"threshold rule {rule!r} needs a target {rate}")
            _check_target(target, rate)
            value = _lowest_threshold(self._groups(rate), target, rate)
        return Threshold(value, rule, None if target is None else float(target), chosen_on, self.error_rates(value))

    def histogram(self, bins: int = 40) -> Histogram:
        """Score counts per attack type over ``bins`` equal bins spanning [0, 1] and every score."""
        edges = np.histogram_bin_edges(self.scores, bins, (min(0.0, self.scores.min()), max(1.0, self.scores.max())))
        present = self.counts()
        counts = {kind: tuple(int(c) for c in np.histogram(self.scores[self.codes == code], edges)[0])
                  for code, kind in enumerate(ATTACK_TYPES) if kind in present}
        return Histogram(tuple(edges.tolist()), counts)

    def _resampler(self, rng: np.random.Generator) -> Callable[[], np.ndarray]:
        """A function drawing one resample's indices: whole subjects, or samples within each attack type."""
        if self.subjects is not None:
            order = np.argsort(self.subjects, kind="stable")
            groups = np.split(order, np.flatnonzero(np.diff(self.subjects[order])) + 1)
            return lambda: np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        strata = [np.flatnonzero(self.codes == code) for code in np.unique(self.codes)]
        return lambda: np.concatenate([rng.choice(stratum, len(stratum)) for stratum in strata])

    def bootstrap(self, threshold: float, *, n_resamples: int = 1000, confidence: float = 0.95,
                  seed: int = 0) -> Bootstrap:
        """Percentile intervals of AUC, EER, APCER (worst type), BPCER and ACER at a fixed ``threshold``.

        Resamples whole subjects when subject ids were given (samples of one subject are not independent),
        otherwise samples within each attack type; a seeded :func:`numpy.random.default_rng` makes it repeatable.
        """
        if n_resamples < 1 or not 0 < confidence < 1:
            raise EvaluationError(f"bootstrap needs n_resamples >= 1 and 0 < confidence < 1, not {n_resamples} and "
                                  f"{confidence}")
        draw, present = self._resampler(np.random.default_rng(seed)), np.unique(self.codes)
        values = []
        for _ in range(n_resamples):
            index = draw()
            if not np.array_equal(np.unique(self.codes[index]), present):
                continue  # a subject resample without live samples or without one of the attack types
            sample = self.take(index)
            rates = sample.error_rates(threshold)
            roc = sample.roc()
            values.append((roc.auc, _eer(roc).value, rates.apcer_max, rates.bpcer, rates.acer))
        if not values:
            raise EvaluationError(f"bootstrap: none of {n_resamples} resamples of {self.subjects.max() + 1} subjects "
                                  "held live samples and every attack type; too few subjects to resample")
        tail = 50 * (1 - confidence)
        low, high = np.percentile(np.array(values), [tail, 100 - tail], axis=0)
        intervals = {name: (float(a), float(b)) for name, a, b in zip(BOOTSTRAP_METRICS, low, high, strict=True)}
        return Bootstrap(float(threshold), "sample" if self.subjects is None else "subject", n_resamples,
                         len(values), confidence, seed, intervals)


@dataclass(frozen=True, eq=False)
class PadReport:
    """Every metric of one model on one dataset at one threshold; :meth:`to_dict` is its JSON form.

    The curves are kept without collinear points (the same curves, fewer numbers).
    """

    model: str
    dataset: str
    counts: dict[str, int]
    n_subjects: int | None
    threshold: Threshold
    rates: ErrorRates
    confusion: Confusion
    eer: Eer
    tpr_at_fpr: tuple[OperatingPoint, ...]
    bpcer_at_apcer: tuple[OperatingPoint, ...]
    roc: Roc
    det: Det
    histogram: Histogram
    bootstrap: Bootstrap | None = None
    notes: dict[str, str] = field(default_factory=dict)  # reasons for values left out, e.g. "bootstrap"
    non_response: NonResponses | None = None  # presentations without a decision, left out of the metrics above

    @property
    def presentations(self) -> dict[str, int]:
        """Samples per attack type, scored or not (the counts when there were no non-responses)."""
        if self.non_response is None:
            return self.counts
        return {row.attack_type: row.presentations for row in self.non_response.rows}

    def to_dict(self) -> dict:
        """Plain Python types only (JSON-serialisable); missing values are None with a reason."""
        return {
            "model": self.model, "dataset": self.dataset, "score_convention": SCORE_CONVENTION,
            "counts": self.counts, "n_samples": sum(self.counts.values()), "n_subjects": self.n_subjects,
            "threshold": self.threshold.to_dict(), "at_threshold": self.rates.to_dict(),
            "confusion_matrix": {"labels": list(self.confusion.labels), "rows": "true class",
                                 "columns": "decision", "matrix": [list(row) for row in self.confusion.matrix]},
            "auc": self.roc.auc, "eer": asdict(self.eer),
            "tpr_at_fpr": [asdict(point) for point in self.tpr_at_fpr],
            "bpcer_at_apcer": [asdict(point) for point in self.bpcer_at_apcer],
            "bootstrap": None if self.bootstrap is None else asdict(self.bootstrap),
            "notes": self.notes,
            "non_response": None if self.non_response is None else self.non_response.to_dict(self.rates),
            "curves": {"roc": self.roc.to_dict(), "det": self.det.to_dict(), "score_histogram": asdict(self.histogram)},
        }


def choose_threshold(scores: Sequence[float] | np.ndarray, attack_types: Sequence[str] | np.ndarray,
                     rule: str = "apcer", target: float | None = 0.05,
                     chosen_on: str = "development split") -> Threshold:
    """Pick a threshold on development scores (see :meth:`ScoreSet.threshold`), to apply to the test split."""
    return ScoreSet.of(scores, attack_types).threshold(rule, target, chosen_on)


def evaluate_scores(scores: Sequence[float] | np.ndarray, attack_types: Sequence[str] | np.ndarray,
                    threshold: Threshold | float, *, model: str, dataset: str,
                    subjects: Sequence[object] | np.ndarray | None = None,
                    tpr_targets: Sequence[float] = TPR_FPR_TARGETS, apcer_targets: Sequence[float] = APCER_TARGETS,
                    n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0, bins: int = 40,
                    non_responses: Mapping[str, int] | None = None,
                    non_response_reasons: Mapping[str, int] | None = None) -> PadReport:
    """Every metric of one model on one dataset; a float ``threshold`` counts as fixed (not chosen here).

    ``n_resamples=0`` skips the bootstrap (it costs about ``n_resamples`` ROC computations). ``non_responses``
    counts, per attack type, the presentations that gave no decision and are not among ``scores`` (ISO/IEC
    30107-3 APNRR and BPNRR; the report reads them both left out and counted as rejections).
    """
    data = ScoreSet.of(scores, attack_types, subjects)
    if not isinstance(threshold, Threshold):
        threshold = Threshold.fixed(threshold)
    bootstrap = (data.bootstrap(threshold.value, n_resamples=n_resamples, confidence=confidence, seed=seed)
                 if n_resamples else None)
    return PadReport(
        model=model, dataset=dataset, counts=data.counts(),
        n_subjects=None if data.subjects is None else int(data.subjects.max()) + 1, threshold=threshold,
        rates=data.error_rates(threshold.value), confusion=data.confusion(threshold.value), eer=data.eer(),
        tpr_at_fpr=data.tpr_at_fpr(tpr_targets), bpcer_at_apcer=data.bpcer_at_apcer(apcer_targets),
        roc=data.roc(drop_intermediate=True), det=data.det(drop_intermediate=True), histogram=data.histogram(bins),
        bootstrap=bootstrap, notes={} if n_resamples else {"bootstrap": "not computed (n_resamples=0)"},
        non_response=None if non_responses is None else NonResponses.of(
            data.counts(), dict(non_responses), dict(non_response_reasons or {})))

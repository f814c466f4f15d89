"""The real-data yardstick: how often real live faces are rejected (BPCER), per source, and what the real attacks get.

:func:`score_yardstick` runs a face detector (YOLOv7-lite by default) over the real photos and video frames of
:func:`fasutils.data.real_faces.fetch_real_faces` and scores every face with each classifier, in one tidy table
(one row per face and model). A group photo contributes every face it shows, each its own subject; a photo or
frame of one person contributes its largest face. A picture in which no face is found keeps one row per model
with ``p_live`` NaN, so it is counted (``no_face`` in :func:`bpcer_table`), never dropped silently.

:func:`bpcer_table` gives, per model and source and for all real live faces together, the BPCER at the model's
threshold (live rejected when P(live) < threshold, as in :mod:`fasutils.evaluation.metrics`) with a percentile
interval from resampling *subjects* (frames of one video are not independent samples; Efron & Tibshirani, *An
Introduction to the Bootstrap*, 1993, ch. 13). Every model is resampled with the same draws, so their intervals
are paired. :func:`sample_verdicts` shows P(live) of minivision's real samples T1 (live), F1 (print), F2 (replay).
Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from fasutils.core.errors import EvaluationError, positive_int
from fasutils.core.images import read_image
from fasutils.data.faces import Face, FaceDetector
from fasutils.data.real_faces import RealFaces, frame_index
from fasutils.data.records import Record
from fasutils.detection.detectors import load_detector
from fasutils.evaluation.rates import LIVE
from fasutils.export.classifiers import SUITE, Classifier, load_classifier

ALL_LIVE = "all real live"
SAMPLES_SOURCE = "minivision"
SCORE_COLUMNS = ("source", "subject", "label", "path", "frame", "face", "box", "detector_score", "model", "p_live")


@dataclass(frozen=True)
class FoundFaces:
    """The faces a detector found in each real picture (detected once, scored by any number of models)."""

    records: list[Record]
    faces: list[list[Face]]  # per record: every face of a group photo, else the largest one (or none)
    images: list[np.ndarray] = field(repr=False)  # RGB uint8, as read


def find_faces(faces: RealFaces | Sequence[Record], detector: FaceDetector | None = None, *,
               progress: bool = True) -> FoundFaces:
    """Detect the faces of every real picture once (``detector`` defaults to ``load_detector("yolov7-lite")``).

    A group photo (a record without a subject) keeps every face, each its own subject; a photo or frame of one
    person keeps its largest face.
    """
    records = faces.records if isinstance(faces, RealFaces) else list(faces)
    if not records:
        raise EvaluationError("no real faces to score: fetch_real_faces found none (see its unavailable sources)")
    detector = detector if detector is not None else load_detector("yolov7-lite")
    images, found = [], []
    for record in tqdm(records, desc="real yardstick: faces", unit="picture", disable=not progress):
        image = read_image(record.path)
        detected = detector.detect(image)
        if record.subject is not None and detected:
            detected = [max(detected, key=lambda face: face.box[2] * face.box[3])]
        images.append(image)
        found.append(detected)
    return FoundFaces(records, found, images)


def score_yardstick(faces: RealFaces | Sequence[Record] | FoundFaces,
                    models: Sequence[str | Path | Classifier] = (SUITE,), detector: FaceDetector | None = None, *,
                    progress: bool = True) -> pd.DataFrame:
    """P(live) of every real face by every model: one row per face and model (:data:`SCORE_COLUMNS`).

    ``faces`` are the real pictures (detected here with :func:`find_faces` and ``detector``) or faces already
    found; ``models`` are classifiers or names for :func:`~fasutils.export.classifiers.load_classifier`.
    ``subject`` is the record's, or ``<source>/<file>#<face>`` for a group photo (a record without a subject);
    ``face`` is the detector's index (best score first).
    """
    found = faces if isinstance(faces, FoundFaces) else find_faces(faces, detector, progress=progress)
    classifiers = [m if isinstance(m, Classifier) else load_classifier(m) for m in models]
    if not classifiers:
        raise EvaluationError("score_yardstick needs at least one model")
    rows = []
    for record, image, detected in zip(found.records, found.images, found.faces, strict=True):
        base = {"source": record.source, "label": record.attack_type, "path": str(record.path),
                "frame": frame_index(record.path)}
        boxes = [face.box for face in detected]
        for classifier in classifiers:
            p_live = classifier.live_probability([image] * len(detected), boxes)
            if not detected:
                rows.append({**base, "subject": record.subject or f"{record.source}/{Path(record.path).name}",
                             "face": None, "box": None, "detector_score": np.nan, "model": classifier.name,
                             "p_live": np.nan})
            for index, face in enumerate(detected):
                subject = record.subject or f"{record.source}/{Path(record.path).name}#{index}"
                rows.append({**base, "subject": subject, "face": index,
                             "box": tuple(round(float(v), 1) for v in face.box), "detector_score": float(face.score),
                             "model": classifier.name, "p_live": float(p_live[index])})
    table = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    table["face"] = table["face"].astype("Int64")
    table["frame"] = table["frame"].astype("Int64")
    return table


def _interval(faces: np.ndarray, rejected: np.ndarray, n_resamples: int, confidence: float,
              seed: int) -> tuple[float, float]:
    """Percentile interval of pooled BPCER over subject resamples (``faces`` and ``rejected`` per subject)."""
    draws = np.random.default_rng(seed).integers(0, len(faces), (n_resamples, len(faces)))
    rates = rejected[draws].sum(axis=1) / faces[draws].sum(axis=1)
    tail = 50 * (1 - confidence)
    low, high = np.percentile(rates, [tail, 100 - tail])
    return float(low), float(high)


def _row(model: str, source: str, threshold: float, part: pd.DataFrame, n_resamples: int, confidence: float,
         seed: int) -> dict:
    scored = part.dropna(subset=["p_live"])
    no_face = int(part["p_live"].isna().sum())
    per_subject = (scored.assign(rejected=scored["p_live"] < threshold)
                   .groupby("subject", sort=True)["rejected"].agg(["size", "sum"]))
    faces, rejected = per_subject["size"].to_numpy(), per_subject["sum"].to_numpy()
    bpcer, low, high = np.nan, np.nan, np.nan
    if faces.sum():
        bpcer = rejected.sum() / faces.sum()
        low, high = _interval(faces, rejected, n_resamples, confidence, seed)
    return {"model": model, "source": source, "threshold": threshold, "subjects": len(per_subject),
            "faces": int(faces.sum()), "rejected": int(rejected.sum()), "bpcer": bpcer, "low": low, "high": high,
            "no_face": no_face}


def bpcer_table(scores: pd.DataFrame, thresholds: Mapping[str, float] | float, n_resamples: int = 1000,
                seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """BPCER on real live faces per model and source, plus an :data:`ALL_LIVE` row per model.

    ``thresholds`` maps each model of ``scores`` to its threshold (a float applies to all). Columns: model,
    source, threshold, subjects, faces, rejected, bpcer, low and high (the ``confidence`` percentile interval of
    ``n_resamples`` subject resamples, seeded by ``seed``), no_face (pictures without a detected face, not in
    BPCER). BPCER is NaN where a source has no face scored. :data:`SAMPLES_SOURCE` is left out: its samples are
    the real-attack targets, which :func:`sample_verdicts` shows on their own.
    """
    n_resamples = positive_int(n_resamples, "n_resamples", EvaluationError)
    if not 0 < confidence < 1:
        raise EvaluationError(f"confidence must lie between 0 and 1 (exclusive), not {confidence}")
    live = scores[(scores["label"] == LIVE) & (scores["source"] != SAMPLES_SOURCE)]
    models = list(dict.fromkeys(live["model"]))
    if not models:
        raise EvaluationError("no live samples in the scores: score the real yardstick first (score_yardstick)")
    if not isinstance(thresholds, Mapping):
        thresholds = dict.fromkeys(models, float(thresholds))
    missing = [model for model in models if model not in thresholds]
    if missing:
        raise EvaluationError(f"no threshold for {', '.join(map(repr, missing))}; give thresholds for every model "
                              f"of the scores ({', '.join(map(repr, models))})")
    rows = []
    for model in models:
        mine = live[live["model"] == model]
        parts = [*mine.groupby("source", sort=False), (ALL_LIVE, mine)]
        rows += [_row(model, source, float(thresholds[model]), part, n_resamples, confidence, seed)
                 for source, part in parts]
    return pd.DataFrame(rows)


def sample_verdicts(scores: pd.DataFrame, source: str = SAMPLES_SOURCE) -> pd.DataFrame:
    """P(live) of each model (rows) on each real sample of ``source`` (columns such as ``"T1 (live)"``); NaN where
    no face was found. Targets: T1 accepted, F1 and F2 rejected."""
    samples = scores[scores["source"] == source]
    if samples.empty:
        raise EvaluationError(f"no samples of source {source!r} in the scores; fetch_real_faces lists it as "
                              "unavailable when the reference files are absent")
    names = samples["subject"].str.rsplit("/", n=1).str[-1] + " (" + samples["label"] + ")"
    table = samples.assign(sample=names).pivot_table(index="model", columns="sample", values="p_live",
                                                     aggfunc="first", dropna=False, sort=False)
    table.columns.name = None
    return table.reindex(list(dict.fromkeys(samples["model"])))

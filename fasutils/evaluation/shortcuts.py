"""A context-only probe: can live and attack be told apart without looking at the face?

Each image is cut as the suite's model cuts it (:data:`fasutils.data.crops.MINIVISION_2_7`, 2.7x the face box,
80x80), after the face box enlarged ``mask_scale`` times about its centre (default 1.3: the face, most of the hair
line and the chin) is painted neutral grey. What is left is context: background, shoulders, a medium's border or
bezel, the light. Simple features of it (a 16x16 grey thumbnail, HSV histograms and gradient statistics of the
unmasked pixels) feed a standardized logistic regression, fit on the train split with its regularization chosen
by subject-grouped cross-validation; its ROC AUC on the identity-disjoint val and test splits says how much a
classifier could learn from context alone. Near 0.5 is what a dataset without a context shortcut gives; a
shortcut like "live faces stand on studio grey, attacks show a border" gives nearly 1.

The idea is a standard dataset-bias check (Torralba & Efros, "Unbiased look at dataset bias", CVPR 2011): a
classifier that should not be able to solve the task, and does, has found a shortcut.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from fasutils.core.errors import EvaluationError
from fasutils.data.crops import MINIVISION_2_7, CropConvention, crop_face
from fasutils.data.records import Record

MASK_GREY = 128  # the painted face region, as read_image's alpha background
THUMBNAIL = 16  # px side of the grey thumbnail feature
HSV_BINS = (16, 8, 8)  # hue, saturation, value histogram bins
GRID = 4  # gradient statistics per cell of a GRID x GRID grid
SPLITS = ("train", "val", "test")


def masked_crop(image: np.ndarray, box: Sequence[float], mask_scale: float = 1.3,
                convention: CropConvention = MINIVISION_2_7) -> tuple[np.ndarray, np.ndarray]:
    """The ``convention`` crop of ``image`` with the face box, enlarged ``mask_scale`` times, painted grey.

    Returns (crop, keep): the uint8 RGB crop and a boolean map of the pixels outside the painted box.
    """
    x, y, w, h = (float(v) for v in box)
    cx, cy = x + w / 2, y + h / 2
    half_w, half_h = mask_scale * w / 2, mask_scale * h / 2
    keep = np.full(image.shape[:2], 255, np.uint8)
    x0, y0 = max(0, int(np.floor(cx - half_w))), max(0, int(np.floor(cy - half_h)))
    x1, y1 = int(np.ceil(cx + half_w)), int(np.ceil(cy + half_h))
    keep[y0:y1, x0:x1] = 0
    painted = image.copy()
    painted[keep == 0] = MASK_GREY
    crop = crop_face(painted, box, convention)
    keep_crop = crop_face(np.dstack([keep] * 3), box, convention)[..., 0] == 255  # partly painted pixels: masked
    return crop, keep_crop


def context_features(crop: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The probe's features of a masked crop: grey thumbnail, HSV histograms, gradient statistics (float32)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    thumbnail = cv2.resize(grey, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA).ravel() / 255.0
    hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)[keep]
    ranges = (180, 256, 256)
    histograms = [np.histogram(hsv[:, c], bins=HSV_BINS[c], range=(0, ranges[c]))[0] / max(len(hsv), 1)
                  for c in range(3)]
    gx = cv2.Sobel(grey.astype(np.float32) / 255, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey.astype(np.float32) / 255, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy)
    inner = cv2.erode(keep.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # the mask's own edge out
    edges = cv2.Canny(grey, 50, 150) > 0
    strong = [magnitude[inner].mean(), magnitude[inner].std(), (magnitude[inner] > 0.25).mean(),
              edges[inner].mean(), (np.abs(gx) > 2 * np.abs(gy))[inner & (magnitude > 0.1)].mean(),
              (np.abs(gy) > 2 * np.abs(gx))[inner & (magnitude > 0.1)].mean()]
    cells = []
    side = crop.shape[0] // GRID
    for row in range(GRID):
        for col in range(GRID):
            window = (slice(row * side, (row + 1) * side), slice(col * side, (col + 1) * side))
            chosen = magnitude[window][inner[window]]
            cells.append(chosen.mean() if chosen.size else 0.0)
    features = np.concatenate([thumbnail, *histograms, np.nan_to_num(np.array(strong)), cells])
    return features.astype(np.float32)


@dataclass(frozen=True)
class ProbeResult:
    """ROC AUC of the context-only probe per split (train, val, test), the image counts, and more detail.

    ``auc_by_attack`` is the test split's AUC of live against each attack type alone; ``c`` the chosen inverse
    regularization; ``mask`` says what was painted over.
    """

    auc: dict[str, float]
    n: dict[str, int]
    auc_by_attack: dict[str, float] = field(default_factory=dict)
    c: float = 1.0
    features: int = 0
    mask: str = ""

    def table(self):
        """AUC and counts per split as a DataFrame (a notebook shows it)."""
        import pandas as pd

        return pd.DataFrame({"ROC AUC": self.auc, "images": self.n}).rename_axis("split").round(3)


def _records(data: object) -> list[Record]:
    records = getattr(getattr(data, "report", None), "records", data)  # a BuiltDataset or records
    return list(records)


def context_probe(data: object, mask_scale: float = 1.3, convention: CropConvention = MINIVISION_2_7,
                  folds: int = 5, progress: bool = False) -> ProbeResult:
    """Fit the context-only probe on the train split of ``data`` and score every split (deterministic).

    ``data`` is a :class:`~fasutils.simulation.dataset.BuiltDataset` or a sequence of records with ``box``,
    ``split`` and ``subject``. Raises :class:`EvaluationError` when a split lacks a class or a record its box.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

    from fasutils.core.images import read_image

    records = [r for r in _records(data) if r.split in SPLITS]
    missing = [r.path for r in records if r.box is None]
    if missing:
        raise EvaluationError(f"{len(missing)} records have no face box (first: {missing[0]}); the probe masks "
                              "the face, so every record needs one")
    for split in SPLITS:
        labels = {r.is_spoof for r in records if r.split == split}
        if labels != {False, True}:
            raise EvaluationError(f"the {split} split needs live and spoof records for the context probe, "
                                  f"it has {sorted('spoof' if s else 'live' for s in labels) or 'none'}")
    features = np.stack([context_features(*masked_crop(read_image(r.path), r.box, mask_scale, convention))
                         for r in tqdm(records, desc="context features", unit="image", disable=not progress)])
    labels = np.array([r.is_spoof for r in records], int)
    splits = np.array([r.split for r in records])
    train = splits == "train"
    subjects = np.array([str(r.subject) for r in records])[train]
    folds = max(2, min(folds, len(set(subjects))))
    cv = list(GroupKFold(n_splits=folds).split(features[train], labels[train], subjects))
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000))
    model = GridSearchCV(pipeline, {"logisticregression__C": np.logspace(-4, 1, 11)}, scoring="roc_auc", cv=cv)
    model.fit(features[train], labels[train])
    scores = model.predict_proba(features)[:, 1]
    auc = {s: float(roc_auc_score(labels[splits == s], scores[splits == s])) for s in SPLITS}
    kinds = np.array([r.attack_type for r in records])
    test_live = (splits == "test") & (labels == 0)
    by_attack = {}
    for kind in sorted(set(kinds[(splits == "test") & (labels == 1)])):
        chosen = test_live | ((splits == "test") & (kinds == kind))
        by_attack[str(kind)] = float(roc_auc_score(labels[chosen], scores[chosen]))
    mask = (f"face box x{mask_scale:g} about its centre painted grey {MASK_GREY}, then the {convention.name} "
            f"crop ({convention.scale:g}x box, {convention.size[1]}x{convention.size[0]})")
    return ProbeResult(auc, {s: int((splits == s).sum()) for s in SPLITS}, by_attack,
                       float(model.best_params_["logisticregression__C"]), features.shape[1], mask)

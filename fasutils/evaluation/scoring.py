"""Score records with liveness models: images and sampled video frames -> face boxes -> P(live), or a non-response.

Each picture is read once and shared by the models, in batches. A record without a face box gets the largest
face the detector finds: by default the one ``python -m fasutils predict`` uses
(:data:`fasutils.detection.detectors.DETECTORS`), so the two commands crop the same photo alike. A video record
is scored on every ``every``-th frame, each frame a record of its own (``Record.frame``). A picture that cannot
be read, or shows no face, is a **non-response** (ISO/IEC 30107-3): kept with its reason, counted in APNRR and
BPNRR, never dropped. :meth:`ScoredRecords.table` is the score table of :mod:`fasutils.evaluation.scores`.
Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.core.errors import InputFileError
from fasutils.core.images import ImageReadError, read_image
from fasutils.data.faces import FaceDetector, largest_face
from fasutils.data.records import BOX_COLUMNS, VIDEO_SUFFIXES, Record
from fasutils.data.videos import DEFAULT_EVERY, video_frames
from fasutils.detection.detectors import DETECTORS, load_detector
from fasutils.evaluation.scores import DATA_BOX, SCORE_COLUMNS
from fasutils.export.classifiers import Classifier

NO_FACE = "no face found"


@dataclass(frozen=True)
class Unscored:
    """A picture that gave no score: the record (``frame`` set for a video frame), a short problem and the story."""

    record: Record
    problem: str  # "no face found", "image truncated", "unreadable video", ...
    reason: str


@dataclass(frozen=True, eq=False)
class ScoredRecords:
    """Every model's P(live) per scored picture (images, and video frames with ``frame`` set), each with its face
    box; the pictures that gave no score, with the reason; and how many boxes the detector found."""

    records: tuple[Record, ...]
    scores: dict[str, np.ndarray]  # model name -> P(live), one per record
    skipped: tuple[Unscored, ...]  # non-responses: unreadable files, pictures without a face
    detected: int  # records whose face box the detector found
    detector: str = DETECTORS[0]  # its name
    found: tuple[bool, ...] = ()  # per record: its box is the detector's (else the dataset's)

    def table(self, dataset: str = "") -> pd.DataFrame:
        """One row per picture and model (:data:`~fasutils.evaluation.scores.SCORE_COLUMNS`), non-responses
        included with an empty score and their reason."""
        found = self.found or (False,) * len(self.records)
        boxes = [self.detector if detected else DATA_BOX for detected in found]
        missing = [self.detector if item.problem == NO_FACE else DATA_BOX if item.record.box else ""
                   for item in self.skipped]
        rows = []
        for model, scores in self.scores.items():
            rows += [_row(record, dataset, model, float(score), "", source)
                     for record, score, source in zip(self.records, scores, boxes, strict=True)]
            rows += [_row(item.record, dataset, model, np.nan, item.problem, source)
                     for item, source in zip(self.skipped, missing, strict=True)]
        table = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
        table["frame"] = table["frame"].astype("Int64")
        return table


def _row(record: Record, dataset: str, model: str, score: float, problem: str, detector: str) -> list[object]:
    """A score-table row in the order of :data:`SCORE_COLUMNS`."""
    box = record.box or (np.nan,) * len(BOX_COLUMNS)
    return [dataset, str(record.path), record.frame, record.subject or "", record.split or "",
            "spoof" if record.is_spoof else "live", record.attack_type, record.attack_detail, model, score, problem,
            detector, *box]


def _pictures(record: Record, every: int) -> Iterator[tuple[Record, np.ndarray]]:
    """(record, RGB image) of an image record, or of each sampled frame of a video record."""
    if record.path.suffix.lower() in VIDEO_SUFFIXES:
        for index, frame in video_frames(record.path, every):
            yield dataclasses.replace(record, frame=index), frame
    else:
        yield record, read_image(record.path, "rgb")


def score_records(records: Sequence[Record], classifiers: Sequence[Classifier], *,
                  detector: FaceDetector | None = None, detector_name: str = DETECTORS[0],
                  every: int = DEFAULT_EVERY, batch_size: int = 32, description: str = "scoring",
                  progress: bool = True) -> ScoredRecords:
    """P(live) of every record (of each sampled frame of a video) by every classifier.

    A record without a face box gets the largest face ``detector`` finds (default: :func:`load_detector` of
    ``detector_name``, made when first needed). Pictures that cannot be read or show no face are non-responses.
    """
    kept: list[Record] = []
    found: list[bool] = []
    parts: dict[str, list[np.ndarray]] = {classifier.name: [] for classifier in classifiers}
    skipped: list[Unscored] = []
    detected = 0
    images: list[np.ndarray] = []
    batch: list[tuple[Record, bool]] = []  # (picture, its box found by the detector)

    def flush() -> None:
        if batch:
            for classifier in classifiers:
                parts[classifier.name].append(classifier.live_probability(images, [r.box for r, _ in batch]))
        kept.extend(record for record, _ in batch)
        found.extend(detected for _, detected in batch)
        images.clear()
        batch.clear()

    with tqdm(total=len(records), desc=description, unit="file", disable=not (progress and records)) as bar:
        for record in records:
            bar.update()
            try:
                for picture, image in _pictures(record, every):
                    if picture.box is None:
                        detector = detector or load_detector(detector_name)
                        face = largest_face(detector.detect(image))
                        if face is None:
                            skipped.append(Unscored(picture, NO_FACE, f"{detector_name} found no face"))
                            continue
                        picture = dataclasses.replace(picture, box=tuple(float(v) for v in face.box))
                        detected += 1
                    images.append(image)
                    batch.append((picture, record.box is None))
                    if len(batch) >= batch_size:
                        flush()
            except ImageReadError as error:
                skipped.append(Unscored(record, f"image {error.problem}", error.detail))
            except InputFileError as error:
                skipped.append(Unscored(record, error.problem, error.detail))
        flush()
    scores = {name: np.concatenate(arrays) if arrays else np.zeros(0) for name, arrays in parts.items()}
    return ScoredRecords(tuple(kept), scores, tuple(skipped), detected, detector_name, tuple(found))

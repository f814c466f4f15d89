"""From pictures to liveness verdicts: an image, a folder or a video -> faces -> crops -> P(live) -> records.

Each step is another module's; this one strings them together:

1. **faces** from :class:`~fasutils.detection.detectors.YoloV7Lite` (the default) or
   :class:`~fasutils.detection.yunet.YuNet` (any object with ``detect(image_rgb) -> list[Face]`` will do); faces
   narrower or shorter than ``min_face`` pixels (and at least 1) are dropped;
2. **P(live)** from each :class:`~fasutils.export.classifiers.Classifier` (the suite's model, a published model by name,
   a ``.pt`` or an exported ``.onnx``: :func:`~fasutils.export.classifiers.load_classifier`), on crops cut and prepared
   by its own input convention;
3. **outputs**: one :class:`FaceRecord` per face and model, a drawn copy of every analysed picture under
   ``drawn/``, and ``predictions.json`` + ``predictions.csv`` holding the same records, all written atomically
   (:mod:`fasutils.core.files`).

A picture without faces gives no records, not an error. A file that cannot be read raises a
:class:`~fasutils.core.errors.FasError` naming it and the problem; in a folder run it is reported, skipped and
counted instead. Videos are read every ``every``-th frame (:func:`fasutils.data.videos.video_frames`).
Introduced in ``05_yolov7_lite_detection.ipynb``; ``python -m fasutils predict`` runs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.core.errors import DetectionError, FasError, InputFileError, positive_int
from fasutils.core.files import atomic_write, output_folder
from fasutils.core.images import read_image
from fasutils.data.records import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from fasutils.data.videos import frame_count, video_frames
from fasutils.detection.detectors import FaceDetector, load_detector
from fasutils.detection.drawing import draw_records
from fasutils.detection.results import (
    FaceRecord,
    PipelineResult,
    SkippedFile,
    write_records,
)
from fasutils.export.classifiers import SUITE, Classifier, load_classifier


def _write_image(path: Path, image_rgb: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise DetectionError(f"OpenCV could not encode the drawn picture as {path.suffix}: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda stream: stream.write(encoded.tobytes()))


def _drawn_path(drawn_dir: Path, file: Path, frame: int | None) -> Path:
    """Where the drawn copy of a picture goes: an image keeps its name, video frames go into a folder of its name."""
    if frame is not None:
        return drawn_dir / file.name / f"frame_{frame:06d}.jpg"
    return drawn_dir / (file.name if file.suffix.lower() in IMAGE_SUFFIXES else f"{file.name}.jpg")


def _inputs(path: Path, out_dir: Path) -> tuple[list[Path], list[SkippedFile]]:
    """The files to analyse under ``path`` (itself if a file; a folder's images and videos, recursively, outside
    ``out_dir``) and the folder's other files, reported as skipped."""
    if path.is_file():
        return [path], []
    if not path.is_dir():
        raise InputFileError(path, "not found", "no such file or folder")
    out_dir = out_dir.resolve()
    found = sorted(p for p in path.rglob("*") if p.is_file() and out_dir not in p.resolve().parents)
    wanted = [p for p in found if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES]
    problem = "not an image or video"
    others = [SkippedFile(str(p), problem, f"{problem} (suffix {p.suffix or 'none'!r}): {p}")
              for p in found if p not in wanted]
    return wanted, others


@dataclass
class Pipeline:
    """Detector -> crops by each model's convention -> P(live), decided at ``threshold`` (default: each model's own
    chosen threshold, :attr:`~fasutils.export.classifiers.Classifier.threshold`)."""

    detector: FaceDetector
    models: Sequence[Classifier]
    detector_name: str = "yolov7-lite"
    threshold: float | None = None  # P(live) at or above this is "live"; None: each model's own threshold
    min_face: float = 0.0  # faces narrower or shorter than this many pixels are dropped
    progress: bool = True  # tqdm bars over files and frames

    def __post_init__(self) -> None:
        if not self.models:
            raise DetectionError("the pipeline needs at least one liveness model")
        if not (self.threshold is None or 0.0 <= self.threshold <= 1.0) or self.min_face < 0:
            raise DetectionError(f"threshold must lie in [0, 1] and min_face be >= 0, not {self.threshold} "
                                        f"and {self.min_face}")

    @classmethod
    def load(cls, models: Sequence[str | Path] = (SUITE,), detector: str = "yolov7-lite",
             threshold: float | None = None, min_face: float = 0.0, progress: bool = True) -> Pipeline:
        """A pipeline from names: :func:`load_detector`, and
        :func:`~fasutils.export.classifiers.load_classifier` of each
        model."""
        classifiers = [load_classifier(m) for m in models]  # first: a mistyped name fails before any detector loads
        return cls(load_detector(detector), classifiers, detector, threshold, min_face, progress)

    def threshold_of(self, model: Classifier) -> float:
        """The threshold ``model``'s faces are decided at."""
        return model.threshold if self.threshold is None else self.threshold

    def predict_image(self, image_rgb: np.ndarray, source: str = "image", frame: int | None = None) -> list[FaceRecord]:
        """The records of one RGB uint8 picture: per face (best score first), one per model; empty without faces."""
        faces = [f for f in self.detector.detect(image_rgb) if min(f.box[2], f.box[3]) >= max(self.min_face, 1.0)]
        boxes = [face.box for face in faces]
        p_live = [model.live_probability([image_rgb] * len(boxes), boxes) for model in self.models]
        return [FaceRecord(source, frame, index, tuple(round(v, 2) for v in face.box),
                           tuple((round(float(x), 2), round(float(y), 2)) for x, y in face.landmarks),
                           round(face.score, 6), round(float(p[index]), 6),
                           "live" if p[index] >= self.threshold_of(model) else "spoof", model.name,
                           self.detector_name)
                for index, face in enumerate(faces) for model, p in zip(self.models, p_live, strict=True)]

    def _pictures(self, file: Path, every: int) -> Iterator[tuple[int | None, np.ndarray]]:
        if file.suffix.lower() not in VIDEO_SUFFIXES:
            yield None, read_image(file)
            return
        frames = video_frames(file, every)
        total = -(-frame_count(file) // every)
        yield from tqdm(frames, total=total or None, desc=file.name, unit="frame", leave=False,
                        disable=not self.progress)

    def _analyse(self, file: Path, drawn_dir: Path | None, every: int) -> tuple[list[FaceRecord], list[Path]]:
        records, drawn = [], []
        for frame, image in self._pictures(file, every):
            found = self.predict_image(image, str(file), frame)
            records += found
            if drawn_dir is not None:
                drawn.append(_write_image(_drawn_path(drawn_dir, file, frame), draw_records(image, found)))
        return records, drawn

    def run(self, path: str | Path, out_dir: str | Path, every: int = 1, draw: bool = True) -> PipelineResult:
        """Analyse an image, a video (every ``every``-th frame) or a folder of them (recursively); write the drawn
        pictures under ``out_dir/drawn`` (mirroring the folder) and ``predictions.json`` / ``.csv`` in ``out_dir``.

        A single file that cannot be read raises its :class:`~fasutils.core.errors.FasError`; in a folder such files are
        reported, skipped and listed in :attr:`PipelineResult.skipped`.
        """
        positive_int(every, "every (the video frame step)", DetectionError)
        path, out_dir = Path(path), output_folder(out_dir, DetectionError)
        files, skipped = _inputs(path, out_dir)
        root = path if path.is_dir() else path.parent
        result = PipelineResult({"detector": self.detector_name, "models": [m.name for m in self.models],
                                 "threshold": {m.name: self.threshold_of(m) for m in self.models},
                                 "min_face": self.min_face, "every": every},
                                skipped=skipped)
        for file in tqdm(files, desc="files", unit="file", disable=not self.progress or len(files) < 2):
            drawn_dir = (out_dir / "drawn" / file.parent.relative_to(root)) if draw else None
            try:
                records, drawn = self._analyse(file, drawn_dir, every)
            except FasError as error:
                if path.is_file():
                    raise
                result.skipped.append(SkippedFile(str(file), getattr(error, "problem", type(error).__name__),
                                                  str(error)))
                tqdm.write(f"skipped: {error}")
                continue
            result.records += records
            result.files.append(str(file))
            result.drawn += drawn
        result.json_path, result.csv_path = write_records(result, out_dir)
        return result

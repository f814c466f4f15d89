"""From pictures to liveness verdicts: an image, a folder or a video -> faces -> crops -> P(live) -> records.

Each step is another module's; this one strings them together:

1. **faces** from :class:`~fasutils.face_boxes.YoloV7Lite` (the default) or :class:`~fasutils.face_detection.YuNet`
   (any object with ``detect(image_rgb) -> list[Face]`` will do); faces narrower or shorter than ``min_face``
   pixels (and at least 1) are dropped;
2. **P(live)** from each :class:`~fasutils.classifiers.Classifier` (the suite's model, a published model by name,
   a ``.pt`` or an exported ``.onnx``: :func:`~fasutils.classifiers.load_classifier`), on crops cut and prepared
   by its own input convention;
3. **outputs**: one :class:`FaceRecord` per face and model, a drawn copy of every analysed picture under
   ``drawn/``, and ``predictions.json`` + ``predictions.csv`` holding the same records, all written atomically
   (:mod:`fasutils.files`).

A picture without faces gives no records, not an error. A file that cannot be read raises a
:class:`~fasutils.errors.FasError` naming it and the problem; in a folder run it is reported, skipped and
counted instead. Videos are read with ``cv2.VideoCapture``, every ``every``-th frame.
Introduced in ``05_yolov7_lite_detection.ipynb``; ``python -m fasutils predict`` runs it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.classifiers import SUITE, Classifier, load_classifier
from fasutils.datasets import IMAGE_SUFFIXES
from fasutils.errors import FasError
from fasutils.face_detection import LANDMARK_NAMES, Face
from fasutils.files import atomic_write, atomic_write_text
from fasutils.images import read_image

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "DETECTORS", "CSV_COLUMNS", "LANDMARK_RGB", "PipelineInputError",
           "PipelineSettingsError", "FaceDetector", "FaceRecord", "SkippedFile", "PipelineResult", "Pipeline",
           "load_detector", "video_frames", "draw_faces", "draw_records", "write_records"]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
DETECTORS = ("yolov7-lite", "yunet")
RESULT_STEM = "predictions"
LIVE_RGB, SPOOF_RGB, FACE_RGB = (0, 170, 0), (220, 30, 30), (230, 160, 0)
LABEL_FONT = cv2.FONT_HERSHEY_SIMPLEX
LANDMARK_RGB = ((255, 64, 64), (64, 128, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255))  # LANDMARK_NAMES order


class PipelineInputError(FasError):
    """A path that is missing, not an image or a video, or a video that cannot be read.

    ``problem`` is a short key for counting ("not found", "not an image or video", "unreadable video").
    """

    def __init__(self, path: Path, problem: str, detail: str) -> None:
        super().__init__(f"{detail}: {path}")
        self.path, self.problem = path, problem


class PipelineSettingsError(FasError, ValueError):
    """A pipeline setting out of range, or a detector name that names none."""


class FaceDetector(Protocol):
    """What the pipeline needs of a detector (:class:`YoloV7Lite` and :class:`YuNet` both fit)."""

    def detect(self, image_rgb: np.ndarray) -> list[Face]: ...


def load_detector(name: str = "yolov7-lite") -> FaceDetector:
    """A face detector with its default settings: "yolov7-lite" (published lite-e-0.5 weights) or "yunet"."""
    from fasutils.face_boxes import YoloV7Lite
    from fasutils.face_detection import YuNet

    if name not in DETECTORS:
        raise PipelineSettingsError(f"unknown detector {name!r}: choose one of {', '.join(DETECTORS)}")
    return YoloV7Lite() if name == "yolov7-lite" else YuNet()


@dataclass(frozen=True)
class FaceRecord:
    """One face as one model judged it; coordinates in pixels of the analysed picture."""

    source: str  # the file
    frame: int | None  # frame index in a video (0 = first), None for an image
    face: int  # index of the face in its picture, best detector score first
    box: tuple[float, float, float, float]  # x, y, width, height
    landmarks: tuple[tuple[float, float], ...]  # 5 x (x, y) in LANDMARK_NAMES order
    detector_score: float
    p_live: float
    decision: str  # "live" when p_live >= the threshold, else "spoof"
    model: str
    detector: str

    def as_row(self) -> dict[str, object]:
        """The record as one CSV row, :data:`CSV_COLUMNS`: the box and the landmarks spread over their columns."""
        flat = {"box": self.box, "landmarks": [v for point in self.landmarks for v in point]}
        values = [v for f in dataclasses.fields(self) for v in flat.get(f.name, [getattr(self, f.name)])]
        return dict(zip(CSV_COLUMNS, values, strict=True))


CSV_COLUMNS = tuple(column for f in dataclasses.fields(FaceRecord) for column in {
    "box": ("x", "y", "width", "height"),
    "landmarks": tuple(f"{name}_{axis}" for name in LANDMARK_NAMES for axis in "xy")}.get(f.name, (f.name,)))


@dataclass(frozen=True)
class SkippedFile:
    """A file of a folder run that could not be analysed."""

    path: str
    problem: str  # short key, e.g. "corrupt", "unreadable video"
    message: str  # the full error message, naming the file


@dataclass
class PipelineResult:
    """Everything one :meth:`Pipeline.run` found and wrote."""

    settings: dict[str, object]  # detector, models, threshold, min_face, every
    records: list[FaceRecord] = dataclasses.field(default_factory=list)
    files: list[str] = dataclasses.field(default_factory=list)  # files analysed
    skipped: list[SkippedFile] = dataclasses.field(default_factory=list)
    drawn: list[Path] = dataclasses.field(default_factory=list)  # drawn pictures written
    json_path: Path | None = None
    csv_path: Path | None = None

    @property
    def faces(self) -> int:
        """Faces found (a face judged by several models counts once)."""
        return len({(r.source, r.frame, r.face) for r in self.records})

    def summary(self) -> str:
        """A few lines for a person: files, faces and decisions, skipped files with their reasons, outputs."""
        model = self.settings["models"][0]
        live = sum(r.decision == "live" for r in self.records if r.model == model)
        lines = [f"{len(self.files)} files analysed, {self.faces} faces ({live} live by {model} at P(live) >= "
                 f"{self.settings['threshold']:g}), {len(self.skipped)} files skipped"]
        lines += [f"  skipped ({s.problem}): {s.message}" for s in self.skipped]
        if self.json_path:
            lines.append(f"records: {self.json_path} and {self.csv_path}; drawn pictures: {len(self.drawn)}")
        return "\n".join(lines)


def _write_image(path: Path, image_rgb: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda stream: stream.write(encoded.tobytes()))


def video_frames(path: Path, every: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, RGB uint8 frame) of frames 0, every, 2 * every, ...; :class:`PipelineInputError` when the
    video cannot be opened or yields no frame."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise PipelineInputError(path, "unreadable video", "cannot open the video (not a video, corrupt, or "
                                     "a codec OpenCV's FFmpeg lacks)")
        index = 0
        while capture.grab():  # grab without decoding the frames that are skipped
            if index % every == 0:
                ok, frame = capture.retrieve()
                if ok:
                    yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
        if index == 0:
            raise PipelineInputError(path, "unreadable video", "the video opens but no frame can be decoded")
    finally:
        capture.release()


def _frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


def _draw_face(image: np.ndarray, box: Sequence[float], landmarks: np.ndarray | Sequence[Sequence[float]],
               colour: tuple[int, int, int], label: str) -> None:
    """Draw one face on ``image`` in place: its box, landmark dots and ``label`` on a strip above the box."""
    thickness = max(1, round(max(image.shape[:2]) / 500))
    x, y, w, h = (round(v) for v in box)
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, thickness, cv2.LINE_AA)
    for (px, py), dot in zip(landmarks, LANDMARK_RGB):
        cv2.circle(image, (round(px), round(py)), max(2, round(w / 40)), dot, -1, cv2.LINE_AA)
    scale = min(max(w / 160, 0.35), 1.5)
    (text_w, text_h), baseline = cv2.getTextSize(label, LABEL_FONT, scale, 1)
    left, top = max(min(x, image.shape[1] - text_w - 2), 0), max(y - text_h - baseline - 2, 0)  # kept inside
    cv2.rectangle(image, (left, top), (left + text_w + 2, top + text_h + baseline + 2), colour, -1)
    cv2.putText(image, label, (left + 1, top + text_h + 1), LABEL_FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def draw_faces(image_rgb: np.ndarray, faces: Sequence[Face], colour: tuple[int, int, int] = FACE_RGB) -> np.ndarray:
    """A copy of ``image_rgb`` with a detector's faces: box, landmarks (:data:`LANDMARK_RGB`) and score."""
    drawn = image_rgb.copy()
    for face in faces:
        _draw_face(drawn, face.box, face.landmarks, colour, f"{face.score:.2f}")
    return drawn


def draw_records(image_rgb: np.ndarray, records: Sequence[FaceRecord]) -> np.ndarray:
    """A copy of ``image_rgb`` with each face's box and landmarks, labelled with the first model's decision and
    every model's P(live) (``live 0.97/0.88``); green when the first model says live, red when it says spoof."""
    drawn = image_rgb.copy()
    by_face: dict[int, list[FaceRecord]] = {}
    for record in records:
        by_face.setdefault(record.face, []).append(record)
    for first, *others in by_face.values():
        label = " ".join([first.decision, "/".join(f"{r.p_live:.2f}" for r in (first, *others))])
        _draw_face(drawn, first.box, first.landmarks, LIVE_RGB if first.decision == "live" else SPOOF_RGB, label)
    return drawn


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
        raise PipelineInputError(path, "not found", "no such file or folder")
    out_dir = out_dir.resolve()
    found = sorted(p for p in path.rglob("*") if p.is_file() and out_dir not in p.resolve().parents)
    wanted = [p for p in found if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES]
    problem = "not an image or video"
    others = [SkippedFile(str(p), problem, f"{problem} (suffix {p.suffix or 'none'!r}): {p}")
              for p in found if p not in wanted]
    return wanted, others


@dataclass
class Pipeline:
    """Detector -> crops by each model's convention -> P(live), decided at ``threshold``."""

    detector: FaceDetector
    models: Sequence[Classifier]
    detector_name: str = "yolov7-lite"
    threshold: float = 0.5  # P(live) at or above this is "live"
    min_face: float = 0.0  # faces narrower or shorter than this many pixels are dropped
    progress: bool = True  # tqdm bars over files and frames

    def __post_init__(self) -> None:
        if not self.models:
            raise PipelineSettingsError("the pipeline needs at least one liveness model")
        if not 0.0 <= self.threshold <= 1.0 or self.min_face < 0:
            raise PipelineSettingsError(f"threshold must lie in [0, 1] and min_face be >= 0, not {self.threshold} "
                                        f"and {self.min_face}")

    @classmethod
    def load(cls, models: Sequence[str | Path] = (SUITE,), detector: str = "yolov7-lite", threshold: float = 0.5,
             min_face: float = 0.0, progress: bool = True) -> Pipeline:
        """A pipeline from names: :func:`load_detector`, and :func:`~fasutils.classifiers.load_classifier` of each
        model."""
        classifiers = [load_classifier(m) for m in models]  # first: a mistyped name fails before any detector loads
        return cls(load_detector(detector), classifiers, detector, threshold, min_face, progress)

    def predict_image(self, image_rgb: np.ndarray, source: str = "image", frame: int | None = None) -> list[FaceRecord]:
        """The records of one RGB uint8 picture: per face (best score first), one per model; empty without faces."""
        faces = [f for f in self.detector.detect(image_rgb) if min(f.box[2], f.box[3]) >= max(self.min_face, 1.0)]
        boxes = [face.box for face in faces]
        p_live = [model.live_probability([image_rgb] * len(boxes), boxes) for model in self.models]
        return [FaceRecord(source, frame, index, tuple(round(v, 2) for v in face.box),
                           tuple((round(float(x), 2), round(float(y), 2)) for x, y in face.landmarks),
                           round(face.score, 6), round(float(p[index]), 6),
                           "live" if p[index] >= self.threshold else "spoof", model.name, self.detector_name)
                for index, face in enumerate(faces) for model, p in zip(self.models, p_live)]

    def _pictures(self, file: Path, every: int) -> Iterator[tuple[int | None, np.ndarray]]:
        if file.suffix.lower() not in VIDEO_SUFFIXES:
            yield None, read_image(file)
            return
        frames = video_frames(file, every)
        total = -(-_frame_count(file) // every)
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

        A single file that cannot be read raises its :class:`~fasutils.errors.FasError`; in a folder such files are
        reported, skipped and listed in :attr:`PipelineResult.skipped`.
        """
        if every < 1:
            raise PipelineSettingsError(f"every must be a positive frame step, not {every}")
        path, out_dir = Path(path), Path(out_dir)
        files, skipped = _inputs(path, out_dir)
        root = path if path.is_dir() else path.parent
        result = PipelineResult({"detector": self.detector_name, "models": [m.name for m in self.models],
                                 "threshold": self.threshold, "min_face": self.min_face, "every": every},
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


def write_records(result: PipelineResult, out_dir: Path) -> tuple[Path, Path]:
    """``predictions.json`` (settings, files, skipped files, records) and ``predictions.csv`` (one row per
    record, :meth:`FaceRecord.as_row`), written atomically into ``out_dir``; their paths."""
    document = {**result.settings, "files": result.files,
                "skipped": [dataclasses.asdict(s) for s in result.skipped],
                "records": [dataclasses.asdict(r) for r in result.records]}
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    json_path = atomic_write_text(out_dir / f"{RESULT_STEM}.json", text)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(record.as_row() for record in result.records)
    return json_path, atomic_write_text(out_dir / f"{RESULT_STEM}.csv", table.getvalue())

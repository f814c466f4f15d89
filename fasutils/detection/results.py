"""What a pipeline run found: one :class:`FaceRecord` per face and model, the files it skipped and why, and
``predictions.json`` / ``predictions.csv`` holding the same records (written atomically).
Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import dataclass
from pathlib import Path

from fasutils.core.files import atomic_write_text
from fasutils.data.faces import LANDMARK_NAMES

RESULT_STEM = "predictions"


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

    settings: dict[str, object]  # detector, models, threshold (per model), min_face, every
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
                 f"{self.settings['threshold'][model]:g}), {len(self.skipped)} files skipped"]
        lines += [f"  skipped ({s.problem}): {s.message}" for s in self.skipped]
        if self.json_path:
            lines.append(f"records: {self.json_path} and {self.csv_path}; drawn pictures: {len(self.drawn)}")
        return "\n".join(lines)


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

"""The suite's one label scheme: attack types, :class:`Record` (one labelled face image) and :class:`ReadReport`.

Every dataset reader (:mod:`fasutils.data.readers`, :mod:`fasutils.data.celeba_spoof`) returns a
:class:`ReadReport`: the records it read, and each file or entry it left out (:class:`Skipped`) with the reason.
The CSV manifest's columns (:data:`MANIFEST_COLUMNS`) are defined here, beside the fields they hold.
Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fasutils.core.errors import DataError

ATTACK_TYPES = ("live", "print", "replay", "cut_photo", "mask", "other")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})

LANDMARK_COUNT = 5
BOX_COLUMNS = ("box_x", "box_y", "box_w", "box_h")
LANDMARK_COLUMNS = tuple(f"lm{i}_{axis}" for i in range(1, LANDMARK_COUNT + 1) for axis in "xy")
MANIFEST_COLUMNS = ("path", "is_spoof", "attack_type", "attack_detail", "subject", "split", "source",
                    "licence", *BOX_COLUMNS, *LANDMARK_COLUMNS)
REQUIRED_COLUMNS = ("path", "is_spoof", "attack_type")


@dataclass(frozen=True)
class Record:
    """One labelled face image or video. ``box`` is x, y, w, h and ``landmarks`` five (x, y) points, in image pixels.

    Landmarks follow the detector's order: two eyes, nose tip, two mouth corners. A reader lists a video
    (:data:`VIDEO_SUFFIXES`) as one record; the evaluation scores its sampled frames as records with ``frame`` set
    (0 = the first frame). An impossible label, box, landmark list or frame raises :class:`DataError`.
    """

    path: Path
    is_spoof: bool
    attack_type: str
    subject: str | None = None
    split: str | None = None
    source: str = ""
    box: tuple[float, float, float, float] | None = None
    landmarks: tuple[tuple[float, float], ...] | None = None
    attack_detail: str = ""  # the dataset's own name for the attack, e.g. CelebA-Spoof "Poster"
    licence: str = ""
    frame: int | None = None  # the frame index when this is one frame of the video at ``path``

    def __post_init__(self) -> None:
        if self.attack_type not in ATTACK_TYPES:
            raise DataError(f"unknown attack type {self.attack_type!r}; the vocabulary is {', '.join(ATTACK_TYPES)}")
        if self.is_spoof != (self.attack_type != "live"):
            raise DataError(f"is_spoof={self.is_spoof} contradicts attack type {self.attack_type!r}")
        if self.box is not None and (len(self.box) != 4 or not all(math.isfinite(v) for v in self.box)
                                     or self.box[2] <= 0 or self.box[3] <= 0):
            raise DataError(f"face box {self.box!r} is not x, y, w, h with positive width and height")
        if self.landmarks is not None and (len(self.landmarks) != LANDMARK_COUNT
                                           or any(len(point) != 2 for point in self.landmarks)):
            raise DataError(f"landmarks must be {LANDMARK_COUNT} (x, y) points, not {self.landmarks!r}")
        if self.frame is not None and (isinstance(self.frame, bool) or not isinstance(self.frame, int)
                                       or self.frame < 0):
            raise DataError(f"frame must be a frame index (0 or more), not {self.frame!r}")


@dataclass(frozen=True)
class Skipped:
    """A file or entry a reader left out. ``problem`` is a short key for counting, ``reason`` the full story."""

    what: str
    problem: str
    reason: str


@dataclass
class ReadReport:
    """What a reader found: the records, and every file or entry it skipped with the reason."""

    source: str
    root: Path
    records: list[Record] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def skip_counts(self) -> dict[str, int]:
        """Skipped files and entries per problem, most frequent first."""
        return dict(Counter(item.problem for item in self.skipped).most_common())

    def label_counts(self) -> dict[str, int]:
        """Records per attack type, in the order of :data:`ATTACK_TYPES`."""
        counts = Counter(record.attack_type for record in self.records)
        return {kind: counts[kind] for kind in ATTACK_TYPES if counts[kind]}

    def summary(self) -> str:
        """A few lines to print: records per attack type, then skipped counts per problem."""
        labels = ", ".join(f"{kind} {count}" for kind, count in self.label_counts().items()) or "none"
        lines = [f"{self.source}: {len(self.records)} records ({labels}) from {self.root}",
                 f"skipped: {len(self.skipped)}"]
        lines += [f"  {problem}: {count}" for problem, count in self.skip_counts().items()]
        return "\n".join(lines)

"""Readers for folder trees and the suite's CSV manifest: every layout becomes :class:`Record` s with one label scheme.

Labels are normalised to ``is_spoof`` (True for any attack) and ``attack_type``, one of :data:`ATTACK_TYPES`
(live, print, replay, cut_photo, mask, other):

- folders ``live``, ``real`` -> live; ``spoof``, ``fake``, ``attack`` -> other (a spoof whose kind the layout
  does not say); a folder named after a type (``print``, ``replay``, ``cut_photo``, ``mask``, ``other``) -> it;
- CSV manifest: the ``attack_type`` column must already hold a vocabulary word.

The folder's own name for the attack is kept in ``Record.attack_detail``. Images and videos are read alike: a
video is one record (its frames are sampled by :mod:`fasutils.data.videos` when it is scored). CelebA-Spoof and
OULU-NPU have their own readers (:mod:`fasutils.data.celeba_spoof`, :mod:`fasutils.data.oulu_npu`), built on the
:class:`Collector` here; :mod:`fasutils.data.formats` names the readers by data format.

Each reader returns a :class:`ReadReport`: the records, and every file or entry it left out with the reason
(``report.summary()`` counts them). With ``strict=True`` the first problem raises :class:`DataError` instead.
Problems with the whole dataset (root folder missing, a manifest without its required columns) always raise.
Introduced in ``00_environment_and_data.ipynb``; ``03_training.ipynb`` and ``07_evaluation_report.ipynb`` read
datasets with them.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from fasutils.core.errors import DataError, InputFileError
from fasutils.core.images import ImageReadError, check_image
from fasutils.data.records import (
    ATTACK_TYPES,
    BOX_COLUMNS,
    IMAGE_SUFFIXES,
    LANDMARK_COLUMNS,
    MANIFEST_COLUMNS,
    REQUIRED_COLUMNS,
    VIDEO_SUFFIXES,
    ReadReport,
    Record,
    Skipped,
)
from fasutils.data.videos import check_video

FOLDER_CLASSES = {"live": "live", "real": "live", "spoof": "other", "fake": "other", "attack": "other"}
FOLDER_CLASSES.update({kind: kind for kind in ATTACK_TYPES})
SPLIT_FOLDERS = frozenset({"train", "training", "val", "valid", "validation", "dev", "devel", "test", "testing"})


class Collector:
    """Builds a reader's :class:`ReadReport`; in strict mode the first problem raises instead of being recorded."""

    def __init__(self, source: str, root: Path, strict: bool) -> None:
        self.report = ReadReport(source, root)
        self.strict = strict

    def skip(self, what: str | Path, problem: str, reason: str) -> None:
        if self.strict:
            raise DataError(f"{what}: {reason}")
        self.report.skipped.append(Skipped(str(what), problem, reason))

    def add(self, what: str | Path, **fields: object) -> None:
        try:
            self.report.records.append(Record(**fields))
        except ValueError as error:
            self.skip(what, "bad label", str(error))

    def image_size(self, path: Path) -> tuple[int, int] | None:
        """The image's (width, height) after checking it is complete; None, and the reason recorded, if not."""
        try:
            return check_image(path)
        except ImageReadError as error:
            self.skip(path, f"image {error.problem}", error.detail)
            return None

    def readable(self, path: Path) -> bool:
        """Whether the image is complete, or the video decodes its first frame; the reason recorded when not."""
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            return self.image_size(path) is not None
        try:
            check_video(path)
        except InputFileError as error:
            self.skip(path, error.problem, error.detail)
            return False
        return True


def require_dir(root: Path, what: str) -> Path:
    """``root`` if it is a folder; :class:`DataError` naming ``what`` otherwise."""
    if not root.is_dir():
        raise DataError(f"{what} not found: {root} (expected a folder)")
    return root


def _visible_files(folder: Path) -> Iterator[Path]:
    """Files below ``folder``, sorted, leaving out hidden files and folders (``.DS_Store``, checkpoints)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def _read_class_folder(collector: Collector, folder: Path, attack_type: str, split: str | None,
                       check_images: bool) -> None:
    for path in _visible_files(folder):
        if path.suffix.lower() not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
            collector.skip(path, "not an image file", f"not an image or video file (suffix {path.suffix or 'none'})")
            continue
        if check_images and not collector.readable(path):
            continue
        parts = path.relative_to(folder).parts
        collector.add(path, path=path, is_spoof=attack_type != "live", attack_type=attack_type,
                      subject=parts[0] if len(parts) > 1 else None, split=split,
                      source=collector.report.source, attack_detail=folder.name)


def read_folder(root: str | Path, *, source: str | None = None, strict: bool = False,
                check_images: bool = True) -> ReadReport:
    """Read a folder tree: ``live/`` + ``spoof/``, or one folder per attack type, optionally below split folders.

    Accepted class folders (any case): live, real, spoof, fake, attack, print, replay, cut_photo, mask, other.
    Split folders: train, training, val, valid, validation, dev, devel, test, testing. Files may sit directly
    in a class folder or in one folder per subject (``live/<subject>/...``); a video (:data:`VIDEO_SUFFIXES`) is
    one record, its frames sampled when it is scored. Hidden files are ignored; other files, unknown folders,
    unreadable images and videos without a decodable frame are skipped with the reason.
    """
    root = require_dir(Path(root), "dataset folder")
    collector = Collector(source or root.name, root, strict)
    found_class = False
    for top in sorted(root.iterdir()):
        if top.name.startswith("."):
            continue
        if top.is_dir() and top.name.lower() in SPLIT_FOLDERS:
            children = [(child, top.name) for child in sorted(top.iterdir()) if not child.name.startswith(".")]
        else:
            children = [(top, None)]
        for child, split in children:
            attack_type = FOLDER_CLASSES.get(child.name.lower()) if child.is_dir() else None
            if attack_type is None:
                kind = "folder" if child.is_dir() else "file"
                collector.skip(child, f"unknown {kind}", f"{kind} is neither a class folder "
                               f"({', '.join(FOLDER_CLASSES)}) nor a split folder ({', '.join(sorted(SPLIT_FOLDERS))})")
                continue
            found_class = True
            _read_class_folder(collector, child, attack_type, split, check_images)
    if not found_class:
        raise DataError(f"no class folders in {root}: expected live/ and spoof/, or one folder per attack type "
                        f"({', '.join(ATTACK_TYPES)}), optionally inside train/ val/ test/")
    return collector.report


def relative_inside(text: str) -> PurePosixPath | None:
    """``text`` as a plain relative path, or None when it is absolute or climbs out with ``..``."""
    posix = PurePosixPath(text.replace("\\", "/"))
    if not text.strip() or posix.is_absolute() or PureWindowsPath(text).anchor or ".." in posix.parts:
        return None
    return posix


def _numbers(row: dict[str, str], columns: Sequence[str]) -> tuple[float, ...] | None:
    """The columns as floats; None when all are empty. ValueError when partly filled or not numbers."""
    texts = [(row.get(column) or "").strip() for column in columns]
    if not any(texts):
        return None
    if not all(texts):
        raise ValueError(f"columns {', '.join(columns)} must be all filled or all empty")
    values = tuple(float(text) for text in texts)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"columns {', '.join(columns)} hold a non-finite number")
    return values


def _manifest_record(collector: Collector, row: dict[str, str], where: str, root: Path,
                     default_source: str, check_images: bool) -> None:
    relative = relative_inside(row.get("path") or "")
    if relative is None:
        collector.skip(where, "path outside root", f"path {row.get('path')!r} is absolute or leaves the dataset "
                       f"root {root} (paths must be relative to the manifest, without '..')")
        return
    attack_type = (row.get("attack_type") or "").strip()
    if attack_type not in ATTACK_TYPES:
        collector.skip(where, "unknown attack type", f"unknown attack type {attack_type!r}; the vocabulary is "
                       f"{', '.join(ATTACK_TYPES)}")
        return
    flag = (row.get("is_spoof") or "").strip().lower()
    if flag not in {"0", "1", "true", "false"}:
        collector.skip(where, "bad label", f"is_spoof must be 0/1 or true/false, not {flag!r}")
        return
    try:
        box = _numbers(row, BOX_COLUMNS)
        points = _numbers(row, LANDMARK_COLUMNS)
    except ValueError as error:
        collector.skip(where, "bad box or landmarks", str(error))
        return
    path = root / relative
    if check_images and not collector.readable(path):
        return
    collector.add(where, path=path, is_spoof=flag in {"1", "true"}, attack_type=attack_type,
                  subject=(row.get("subject") or "").strip() or None, split=(row.get("split") or "").strip() or None,
                  source=(row.get("source") or "").strip() or default_source, box=box,
                  landmarks=None if points is None else tuple(zip(points[::2], points[1::2], strict=True)),
                  attack_detail=(row.get("attack_detail") or "").strip(), licence=(row.get("licence") or "").strip())


def read_manifest(manifest: str | Path, *, source: str | None = None, strict: bool = False,
                  check_images: bool = True) -> ReadReport:
    """Read the suite's CSV manifest (columns :data:`MANIFEST_COLUMNS`; path, is_spoof, attack_type required).

    Paths are relative to the manifest's folder, which is the dataset root: absolute paths and paths with
    ``..`` are refused. Attack types must come from :data:`ATTACK_TYPES`; the box (``box_x, box_y, box_w,
    box_h``) and the five landmarks (``lm1_x, lm1_y ... lm5_y``) are optional, in image pixels. A path may name a
    video: its box, when given, is used for every frame.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DataError(f"manifest not found: {manifest}")
    root = manifest.parent
    collector = Collector(source or manifest.stem, root, strict)
    with manifest.open(newline="", encoding="utf-8-sig") as stream:
        rows = csv.DictReader(stream)
        missing = [column for column in REQUIRED_COLUMNS if column not in (rows.fieldnames or ())]
        if missing:
            raise DataError(f"manifest {manifest} lacks the column(s) {', '.join(missing)} "
                            f"(its header: {', '.join(rows.fieldnames or ()) or 'none'})")
        for row in rows:
            _manifest_record(collector, row, f"{manifest} line {rows.line_num}", root, collector.report.source,
                             check_images)
    return collector.report


def write_manifest(records: Iterable[Record], manifest: str | Path) -> Path:
    """Write ``records`` as a CSV manifest that :func:`read_manifest` reads back; paths relative to its folder.

    Raises :class:`DataError` when a record's image lies outside the manifest's folder.
    """
    manifest = Path(manifest)
    root = manifest.parent.resolve()
    rows = []
    for record in records:
        try:
            relative = Path(record.path).resolve().relative_to(root)
        except ValueError:
            raise DataError(f"cannot write {record.path} into manifest {manifest}: the image lies outside "
                            f"{root}; place the manifest in a folder that holds all images") from None
        box = record.box or (None,) * 4
        points = [v for point in record.landmarks for v in point] if record.landmarks else [None] * 10
        rows.append([relative.as_posix(), int(record.is_spoof), record.attack_type, record.attack_detail,
                     record.subject, record.split, record.source, record.licence, *box, *points])
    with manifest.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    return manifest

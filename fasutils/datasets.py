"""Readers for face anti-spoofing datasets: every layout becomes a list of :class:`Record` with one label scheme.

Labels are normalised to ``is_spoof`` (True for any attack) and ``attack_type``, one of :data:`ATTACK_TYPES`
(live, print, replay, cut_photo, mask, other). How each dataset's codes map:

- folders ``live``, ``real`` -> live; ``spoof``, ``fake``, ``attack`` -> other (a spoof whose kind the layout
  does not say); a folder named after a type (``print``, ``replay``, ``cut_photo``, ``mask``, ``other``) -> it;
- CSV manifest: the ``attack_type`` column must already hold a vocabulary word;
- CelebA-Spoof label [40]: 0 Live -> live; 1 Photo, 2 Poster, 3 A4 -> print; 4 Face Mask, 5 Upper Body Mask,
  6 Region Mask (paper cut-outs) -> cut_photo; 7 PC, 8 Pad, 9 Phone -> replay; 10 3D Mask -> mask.
  Label [43] (0 live, 1 spoof) and the ``live``/``spoof`` folder must agree with it.

The dataset's own name for the attack is kept in ``Record.attack_detail`` (e.g. "A4").

Each reader returns a :class:`ReadReport`: the records, and every file or entry it left out with the reason
(``report.summary()`` counts them). With ``strict=True`` the first problem raises :class:`DatasetError` instead.
Problems with the whole dataset (root folder missing, a manifest without its required columns) always raise.
:class:`FaceCropDataset` turns records into model-size crops for PyTorch.

Used by ``03_training.ipynb`` and ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import torch
from torch.utils.data import Dataset

from fasutils.crops import CropConvention, crop_face
from fasutils.errors import FasError
from fasutils.images import ImageReadError, check_image, read_image

__all__ = ["ATTACK_TYPES", "IMAGE_SUFFIXES", "MANIFEST_COLUMNS", "CELEBA_SPOOF_TYPES", "DatasetError", "Record",
           "Skipped", "ReadReport", "read_folder", "read_manifest", "write_manifest", "read_celeba_spoof",
           "FaceCropDataset"]

ATTACK_TYPES = ("live", "print", "replay", "cut_photo", "mask", "other")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

FOLDER_CLASSES = {"live": "live", "real": "live", "spoof": "other", "fake": "other", "attack": "other"}
FOLDER_CLASSES.update({kind: kind for kind in ATTACK_TYPES})
SPLIT_FOLDERS = frozenset({"train", "training", "val", "valid", "validation", "dev", "devel", "test", "testing"})

# CelebA-Spoof label index 40: code -> (attack_type, the dataset's name for it)
CELEBA_SPOOF_TYPES = {
    0: ("live", "Live"), 1: ("print", "Photo"), 2: ("print", "Poster"), 3: ("print", "A4"),
    4: ("cut_photo", "Face Mask"), 5: ("cut_photo", "Upper Body Mask"), 6: ("cut_photo", "Region Mask"),
    7: ("replay", "PC"), 8: ("replay", "Pad"), 9: ("replay", "Phone"), 10: ("mask", "3D Mask"),
}
CELEBA_BOX_FRAME = 224  # CelebA-Spoof's *_BB.txt boxes are given in a 224x224 frame

LANDMARK_COUNT = 5
BOX_COLUMNS = ("box_x", "box_y", "box_w", "box_h")
LANDMARK_COLUMNS = tuple(f"lm{i}_{axis}" for i in range(1, LANDMARK_COUNT + 1) for axis in "xy")
MANIFEST_COLUMNS = ("path", "is_spoof", "attack_type", "attack_detail", "subject", "split", "source",
                    "licence", *BOX_COLUMNS, *LANDMARK_COLUMNS)
REQUIRED_COLUMNS = ("path", "is_spoof", "attack_type")


class DatasetError(FasError):
    """A dataset, or (in strict mode) one of its files or entries, cannot be read as its layout promises."""


@dataclass(frozen=True)
class Record:
    """One labelled face image. ``box`` is x, y, w, h and ``landmarks`` five (x, y) points, in image pixels.

    Landmarks follow the detector's order: two eyes, nose tip, two mouth corners.
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

    def __post_init__(self) -> None:
        if self.attack_type not in ATTACK_TYPES:
            raise ValueError(f"unknown attack type {self.attack_type!r}; the vocabulary is {', '.join(ATTACK_TYPES)}")
        if self.is_spoof != (self.attack_type != "live"):
            raise ValueError(f"is_spoof={self.is_spoof} contradicts attack type {self.attack_type!r}")
        if self.box is not None and (len(self.box) != 4 or not all(math.isfinite(v) for v in self.box)
                                     or self.box[2] <= 0 or self.box[3] <= 0):
            raise ValueError(f"face box {self.box!r} is not x, y, w, h with positive width and height")
        if self.landmarks is not None and (len(self.landmarks) != LANDMARK_COUNT
                                           or any(len(point) != 2 for point in self.landmarks)):
            raise ValueError(f"landmarks must be {LANDMARK_COUNT} (x, y) points, not {self.landmarks!r}")


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


class _Collector:
    """Builds a :class:`ReadReport`; in strict mode the first problem raises instead of being recorded."""

    def __init__(self, source: str, root: Path, strict: bool) -> None:
        self.report = ReadReport(source, root)
        self.strict = strict

    def skip(self, what: str | Path, problem: str, reason: str) -> None:
        if self.strict:
            raise DatasetError(f"{what}: {reason}")
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


def _require_dir(root: Path, what: str) -> Path:
    if not root.is_dir():
        raise DatasetError(f"{what} not found: {root} (expected a folder)")
    return root


def _visible_files(folder: Path) -> Iterator[Path]:
    """Files below ``folder``, sorted, leaving out hidden files and folders (``.DS_Store``, checkpoints)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def _read_class_folder(collector: _Collector, folder: Path, attack_type: str, split: str | None,
                       check_images: bool) -> None:
    for path in _visible_files(folder):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            collector.skip(path, "not an image file", f"not an image file (suffix {path.suffix or 'none'})")
            continue
        if check_images and collector.image_size(path) is None:
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
    in a class folder or in one folder per subject (``live/<subject>/...``). Hidden files are ignored; other
    non-image files, unknown folders and unreadable images are skipped with the reason.
    """
    root = _require_dir(Path(root), "dataset folder")
    collector = _Collector(source or root.name, root, strict)
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
        raise DatasetError(f"no class folders in {root}: expected live/ and spoof/, or one folder per attack type "
                           f"({', '.join(ATTACK_TYPES)}), optionally inside train/ val/ test/")
    return collector.report


def _relative_inside(text: str) -> PurePosixPath | None:
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


def _manifest_record(collector: _Collector, row: dict[str, str], where: str, root: Path,
                     default_source: str, check_images: bool) -> None:
    relative = _relative_inside(row.get("path") or "")
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
    if check_images and collector.image_size(path) is None:
        return
    collector.add(where, path=path, is_spoof=flag in {"1", "true"}, attack_type=attack_type,
                  subject=(row.get("subject") or "").strip() or None, split=(row.get("split") or "").strip() or None,
                  source=(row.get("source") or "").strip() or default_source, box=box,
                  landmarks=None if points is None else tuple(zip(points[::2], points[1::2])),
                  attack_detail=(row.get("attack_detail") or "").strip(), licence=(row.get("licence") or "").strip())


def read_manifest(manifest: str | Path, *, source: str | None = None, strict: bool = False,
                  check_images: bool = True) -> ReadReport:
    """Read the suite's CSV manifest (columns :data:`MANIFEST_COLUMNS`; path, is_spoof, attack_type required).

    Paths are relative to the manifest's folder, which is the dataset root: absolute paths and paths with
    ``..`` are refused. Attack types must come from :data:`ATTACK_TYPES`; the box (``box_x, box_y, box_w,
    box_h``) and the five landmarks (``lm1_x, lm1_y ... lm5_y``) are optional, in image pixels.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DatasetError(f"manifest not found: {manifest}")
    root = manifest.parent
    collector = _Collector(source or manifest.stem, root, strict)
    with manifest.open(newline="", encoding="utf-8-sig") as stream:
        rows = csv.DictReader(stream)
        missing = [column for column in REQUIRED_COLUMNS if column not in (rows.fieldnames or ())]
        if missing:
            raise DatasetError(f"manifest {manifest} lacks the column(s) {', '.join(missing)} "
                               f"(its header: {', '.join(rows.fieldnames or ()) or 'none'})")
        for row in rows:
            _manifest_record(collector, row, f"{manifest} line {rows.line_num}", root, collector.report.source,
                             check_images)
    return collector.report


def write_manifest(records: Iterable[Record], manifest: str | Path) -> Path:
    """Write ``records`` as a CSV manifest that :func:`read_manifest` reads back; paths relative to its folder.

    Raises :class:`DatasetError` when a record's image lies outside the manifest's folder.
    """
    manifest = Path(manifest)
    root = manifest.parent.resolve()
    rows = []
    for record in records:
        try:
            relative = Path(record.path).resolve().relative_to(root)
        except ValueError:
            raise DatasetError(f"cannot write {record.path} into manifest {manifest}: the image lies outside "
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


def _celeba_box(collector: _Collector, image: Path, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The face box of ``image`` from its ``_BB.txt``, converted from the 224 frame to pixels and clipped."""
    box_file = image.with_name(image.stem + "_BB.txt")
    if not box_file.is_file():
        collector.skip(box_file, "missing box file", f"face box file missing for {image.name}")
        return None
    fields = box_file.read_text(encoding="utf-8", errors="replace").split()
    try:
        values = [float(text) for text in fields]
        if len(values) not in (4, 5) or not all(math.isfinite(v) for v in values):
            raise ValueError
    except ValueError:
        collector.skip(box_file, "malformed box", f"expected 'x y w h score', found {' '.join(fields)[:60]!r}")
        return None
    width, height = size
    x, y, w, h = (int(v * scale / CELEBA_BOX_FRAME) for v, scale in zip(values, (width, height, width, height)))
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        collector.skip(box_file, "malformed box", f"box {' '.join(fields[:4])} (224 frame) is empty inside the "
                       f"{width}x{height} image")
        return None
    return x0, y0, x1 - x0, y1 - y0


def _celeba_entry(collector: _Collector, root: Path, split: str, key: str, labels: object, boxes: bool,
                  check_images: bool) -> None:
    where = f"{split}_label.json entry {key!r}"
    relative = _relative_inside(key)
    parts = relative.parts if relative else ()
    if len(parts) != 5 or parts[0] != "Data" or parts[3] not in {"live", "spoof"}:
        problem = "path outside root" if relative is None else "bad label"
        collector.skip(where, problem, "expected a key Data/<split>/<subject>/<live|spoof>/<file>")
        return
    if not (isinstance(labels, list) and len(labels) == 44 and all(isinstance(v, int) for v in labels)):
        collector.skip(where, "bad label", "expected a list of 44 integers")
        return
    if labels[40] not in CELEBA_SPOOF_TYPES or labels[43] not in (0, 1):
        collector.skip(where, "unknown code", f"unknown code: spoof type [40] = {labels[40]} (known 0-10), "
                       f"live/spoof [43] = {labels[43]} (known 0, 1)")
        return
    attack_type, detail = CELEBA_SPOOF_TYPES[labels[40]]
    if (attack_type != "live") != bool(labels[43]) or (parts[3] == "spoof") != bool(labels[43]):
        collector.skip(where, "bad label", f"labels disagree: folder {parts[3]}, spoof type {labels[40]} "
                       f"({detail}), live/spoof {labels[43]}")
        return
    path = root.joinpath(*parts)
    if not path.is_file():
        collector.skip(path, "missing image", f"{where} names an image that does not exist")
        return
    box = None
    if check_images or boxes:
        size = collector.image_size(path)
        if size is None:
            return
        if boxes:
            box = _celeba_box(collector, path, size)
            if box is None:
                return
    collector.add(path, path=path, is_spoof=bool(labels[43]), attack_type=attack_type, subject=parts[2],
                  split=split, source=collector.report.source, box=box, attack_detail=detail)


def read_celeba_spoof(root: str | Path, *, splits: Sequence[str] = ("train", "test"), boxes: bool = True,
                      strict: bool = False, check_images: bool = True) -> ReadReport:
    """Read CelebA-Spoof's intra-test protocol from ``root`` (the folder holding ``Data/`` and ``metas/``).

    Labels come from ``metas/intra_test/<split>_label.json`` (key ``Data/<split>/<subject>/<live|spoof>/<file>``,
    value 44 ints: [40] spoof type 0-10, [43] 0 live / 1 spoof). With ``boxes``, each image's ``<name>_BB.txt``
    (``x y w h score`` in a 224x224 frame) becomes a pixel box ``int(v * W / 224)`` (x, w) and
    ``int(v * H / 224)`` (y, h), clipped to the image; images without a usable box are skipped.
    """
    root = _require_dir(Path(root), "CelebA-Spoof folder")
    collector = _Collector("CelebA-Spoof", root, strict)
    for split in splits:
        label_file = root / "metas" / "intra_test" / f"{split}_label.json"
        if not label_file.is_file():
            collector.skip(label_file, "missing label file", f"label file for split {split!r} not found")
            continue
        try:
            entries = json.loads(label_file.read_text(encoding="utf-8"))
            if not isinstance(entries, dict):
                raise ValueError("the top level is not an object")
        except ValueError as error:
            collector.skip(label_file, "bad label file", f"label file is not a JSON object of path -> labels: {error}")
            continue
        for key, labels in entries.items():
            _celeba_entry(collector, root, split, key, labels, boxes, check_images)
    return collector.report


class FaceCropDataset(Dataset):
    """Records as model-size face crops: ``(float32 tensor (3, H, W), label)`` per item.

    The crop is cut per ``convention`` (any :class:`~fasutils.crops.CropConvention`; change its ``size`` with
    ``dataclasses.replace``) from the RGB image; values stay 0-255 (uint8 to float, channels first). Model-specific
    scaling or colour order go into ``transform``. ``target`` "is_spoof" gives 0 live / 1 spoof; "attack_type"
    gives the index in :data:`ATTACK_TYPES`. Every record needs a face box: detection is another module's job.
    """

    def __init__(self, records: Sequence[Record], convention: CropConvention, *, target: str = "is_spoof",
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        if target not in {"is_spoof", "attack_type"}:
            raise ValueError(f"target must be 'is_spoof' or 'attack_type', not {target!r}")
        boxless = [record.path for record in records if record.box is None]
        if boxless:
            raise DatasetError(f"{len(boxless)} of {len(records)} records have no face box (first: {boxless[0]}); "
                               "run a face detector on them first, or read the dataset with its boxes")
        self.records = list(records)
        self.convention = convention
        self.target = target
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def label(self, index: int) -> int:
        """The label of item ``index`` without reading its image."""
        record = self.records[index]
        return int(record.is_spoof) if self.target == "is_spoof" else ATTACK_TYPES.index(record.attack_type)

    def crop(self, index: int) -> np.ndarray:
        """The uint8 RGB crop of item ``index``, as a notebook would show it."""
        record = self.records[index]
        return crop_face(read_image(record.path, "rgb"), record.box, self.convention)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        tensor = torch.from_numpy(self.crop(index)).permute(2, 0, 1).contiguous().float()
        if self.transform is not None:
            tensor = self.transform(tensor)
        return tensor, self.label(index)

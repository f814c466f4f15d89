"""The CelebA-Spoof reader: its intra-test protocol's labels and face boxes as :class:`Record` s.

CelebA-Spoof (Zhang et al., "CelebA-Spoof: Large-Scale Face Anti-Spoofing Dataset with Rich Annotations", ECCV 2020)
labels each image with 44 integers in ``metas/intra_test/<split>_label.json``; index 40 is the spoof type and 43 live
(0) or spoof (1). Spoof types map to the suite's attack types: 0 Live -> live; 1 Photo, 2 Poster, 3 A4 -> print;
4 Face Mask, 5 Upper Body Mask, 6 Region Mask (paper cut-outs) -> cut_photo; 7 PC, 8 Pad, 9 Phone -> replay;
10 3D Mask -> mask. Label 43 and the image's ``live``/``spoof`` folder must agree with it; the dataset's own name for
the attack is kept in ``Record.attack_detail`` (e.g. "A4"). Each image's ``<name>_BB.txt`` gives its face box in a
224x224 frame, rescaled by ``W / 224`` and ``H / 224`` as hairymax/Face-AntiSpoofing ``src/image_io.py``
``read_image`` does.
Introduced in ``07_evaluation_report.ipynb`` (``python -m fasutils evaluate --format celeba-spoof``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from fasutils.data.readers import Collector, relative_inside, require_dir
from fasutils.data.records import ReadReport

# CelebA-Spoof label index 40: code -> (attack_type, the dataset's name for it)
CELEBA_SPOOF_TYPES = {
    0: ("live", "Live"), 1: ("print", "Photo"), 2: ("print", "Poster"), 3: ("print", "A4"),
    4: ("cut_photo", "Face Mask"), 5: ("cut_photo", "Upper Body Mask"), 6: ("cut_photo", "Region Mask"),
    7: ("replay", "PC"), 8: ("replay", "Pad"), 9: ("replay", "Phone"), 10: ("mask", "3D Mask"),
}
CELEBA_BOX_FRAME = 224  # CelebA-Spoof's *_BB.txt boxes are given in a 224x224 frame


def _celeba_box(collector: Collector, image: Path, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
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
    frame = (width, height, width, height)  # x, y, w, h: the score (a fifth value) is not used
    x, y, w, h = (int(v * scale / CELEBA_BOX_FRAME) for v, scale in zip(values[:4], frame, strict=True))
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        collector.skip(box_file, "malformed box", f"box {' '.join(fields[:4])} (224 frame) is empty inside the "
                       f"{width}x{height} image")
        return None
    return x0, y0, x1 - x0, y1 - y0


def _celeba_entry(collector: Collector, root: Path, split: str, key: str, labels: object, boxes: bool,
                  check_images: bool) -> None:
    where = f"{split}_label.json entry {key!r}"
    relative = relative_inside(key)
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
    root = require_dir(Path(root), "CelebA-Spoof folder")
    collector = Collector("CelebA-Spoof", root, strict)
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

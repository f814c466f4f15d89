"""The context-only probe on generated images: it finds a planted context difference and nothing else."""

import cv2
import numpy as np
import pytest

from fasutils.core.errors import EvaluationError
from fasutils.data.records import Record
from fasutils.evaluation.shortcuts import context_probe, masked_crop

BOX = (80.0, 70.0, 60.0, 80.0)  # the face in every generated 220x220 image


def _image(rng: np.random.Generator, spoof: bool, planted: bool) -> np.ndarray:
    """A random-texture room with a face-sized ellipse; the face's colour always tells the class.

    ``planted``: spoofs also get a bright frame in the background (a medium's border), live faces never.
    """
    room = cv2.resize(rng.integers(40, 200, (11, 11, 3), dtype=np.uint8), (220, 220), interpolation=cv2.INTER_LINEAR)
    room = np.clip(room.astype(int) + rng.integers(-10, 10, room.shape), 0, 255).astype(np.uint8)
    if planted and spoof:
        cv2.rectangle(room, (45, 35), (175, 185), (250, 250, 250), 6)
    face = (60, 60, 220) if spoof else (220, 160, 130)  # as different as can be, inside the box only
    cv2.ellipse(room, (110, 110), (28, 38), 0, 0, 360, face, -1)
    return room


def _records(tmp_path, planted: bool, subjects: int = 60) -> list[Record]:
    rng = np.random.default_rng(7)
    records = []
    for subject in range(subjects):
        split = ("train", "train", "train", "val", "test")[subject % 5]
        for spoof in (False, True):
            path = tmp_path / f"{subject:03d}_{int(spoof)}.png"
            cv2.imwrite(str(path), _image(rng, spoof, planted)[..., ::-1])
            records.append(Record(path, spoof, "print" if spoof else "live", subject=f"s{subject}", split=split,
                                  box=BOX))
    return records


def test_the_probe_finds_a_planted_context_difference(tmp_path):
    result = context_probe(_records(tmp_path, planted=True))
    assert result.auc["test"] > 0.95 and result.auc["val"] > 0.95, result.auc
    assert result.n == {"train": 72, "val": 24, "test": 24} and set(result.auc_by_attack) == {"print"}


def test_the_probe_is_near_chance_when_only_the_masked_face_differs(tmp_path):
    records = _records(tmp_path, planted=False)
    result = context_probe(records)
    assert abs(result.auc["test"] - 0.5) < 0.2 and abs(result.auc["val"] - 0.5) < 0.2, result.auc
    assert context_probe(records).auc == result.auc  # deterministic


def test_the_mask_covers_the_enlarged_box_and_nothing_else():
    image = np.full((220, 220, 3), 30, np.uint8)
    crop, keep = masked_crop(image, BOX, mask_scale=1.3)
    assert crop.shape == (80, 80, 3) and keep.shape == (80, 80)
    assert np.all(crop[40, 40] == 128) and not keep[40, 40]  # the box centre is painted
    assert np.all(crop[2, 2] == 30) and keep[2, 2]  # a corner of the 2.7x crop is context
    assert 0.15 < 1 - keep.mean() < 0.4  # 1.3^2 / 2.7^2 of the crop, about 23 %, is masked


def test_a_split_without_both_classes_is_refused(tmp_path):
    records = [r for r in _records(tmp_path, planted=False, subjects=10) if not (r.split == "val" and r.is_spoof)]
    with pytest.raises(EvaluationError, match="val split needs live and spoof"):
        context_probe(records)

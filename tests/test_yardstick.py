"""The real-data yardstick with a stub detector and stub classifiers: faces found once, one row per face and model,
BPCER per model and source (and over all real live faces) with an interval from resampling subjects."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from fasutils.core.errors import EvaluationError
from fasutils.data.faces import Face
from fasutils.data.input_convention import JOHNRAIVENOLAZO
from fasutils.data.real_faces import RealFaces
from fasutils.data.records import Record
from fasutils.evaluation.yardstick import (
    ALL_LIVE,
    SAMPLES_SOURCE,
    SCORE_COLUMNS,
    bpcer_table,
    find_faces,
    sample_verdicts,
    score_yardstick,
)
from fasutils.export.classifiers import Classifier


def _face(x: float, y: float, w: float, h: float, score: float) -> Face:
    return Face((x, y, w, h), np.zeros((5, 2), np.float32), score)


# Each test picture is a flat grey whose level names it; the stub detector answers by that level.
ONE, GROUP, NONE, FRAME = 10, 20, 30, 40
FACES = {
    ONE: [_face(0, 0, 10, 10, 0.9), _face(20, 2, 30, 30, 0.8), _face(5, 5, 20, 20, 0.7)],  # keep the largest, 2nd
    GROUP: [_face(1, 1, 8, 8, 0.95), _face(30, 1, 12.04, 12, 0.6)],  # every face, each its own subject
    NONE: [],
    FRAME: [_face(3, 4, 16, 16, 0.85)],
}


class StubDetector:
    """Fixed faces per picture (by its grey level), counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        self.calls += 1
        return list(FACES[int(image_rgb[0, 0, 0])])


def stub_model(name: str, offset: float) -> Classifier:
    """P(live) = (grey level + box x) / 100 + offset: which picture and which face it was given shows in it."""
    return Classifier(name, JOHNRAIVENOLAZO, lambda images, boxes: np.array(
        [(float(image[0, 0, 0]) + box[0]) / 100 + offset for image, box in zip(images, boxes, strict=True)]))


def _picture(path: Path, level: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((40, 60), level, np.uint8))
    return path


@pytest.fixture
def records(tmp_path) -> list[Record]:
    """A one-person photo, a group photo, a photo without a face, and a video frame (frame 20)."""
    return [
        Record(_picture(tmp_path / "one.png", ONE), False, "live", "src/alice", "test", "src"),
        Record(_picture(tmp_path / "group.png", GROUP), False, "live", None, "test", "grp"),
        Record(_picture(tmp_path / "none.png", NONE), False, "live", "src/carl", "test", "src"),
        Record(_picture(tmp_path / "clip.every10" / "frame_000020.png", FRAME), False, "live", "vid/bob", "test",
               "vid"),
    ]


def _plain(table: pd.DataFrame) -> list[tuple]:
    """The rows without ``path``, missing values as None and P(live) rounded, for comparing with hand-written rows."""
    def plain(value):
        if isinstance(value, tuple):
            return value
        if pd.isna(value):
            return None
        return round(value, 6) if isinstance(value, float) else value
    return [tuple(plain(v) for v in row) for row in table.drop(columns="path").itertuples(index=False)]


def test_find_faces_detects_each_picture_once_keeping_the_largest_face_of_one_person(records):
    detector = StubDetector()
    found = find_faces(records, detector, progress=False)
    assert detector.calls == len(records) and found.records == records
    assert found.faces == [[FACES[ONE][1]], FACES[GROUP], [], FACES[FRAME]]
    assert [int(image[0, 0, 0]) for image in found.images] == [ONE, GROUP, NONE, FRAME]
    assert all(image.shape == (40, 60, 3) and image.dtype == np.uint8 for image in found.images)


def test_one_row_per_face_and_model_with_no_face_kept_as_nan(records):
    table = score_yardstick(records, [stub_model("a", 0.0), stub_model("b", 0.5)], StubDetector(), progress=False)
    assert list(table.columns) == list(SCORE_COLUMNS)
    assert _plain(table) == [
        ("src", "src/alice", "live", None, 0, (20.0, 2.0, 30.0, 30.0), 0.8, "a", 0.3),
        ("src", "src/alice", "live", None, 0, (20.0, 2.0, 30.0, 30.0), 0.8, "b", 0.8),
        ("grp", "grp/group.png#0", "live", None, 0, (1.0, 1.0, 8.0, 8.0), 0.95, "a", 0.21),
        ("grp", "grp/group.png#1", "live", None, 1, (30.0, 1.0, 12.0, 12.0), 0.6, "a", 0.5),
        ("grp", "grp/group.png#0", "live", None, 0, (1.0, 1.0, 8.0, 8.0), 0.95, "b", 0.71),
        ("grp", "grp/group.png#1", "live", None, 1, (30.0, 1.0, 12.0, 12.0), 0.6, "b", 1.0),
        ("src", "src/carl", "live", None, None, None, None, "a", None),
        ("src", "src/carl", "live", None, None, None, None, "b", None),
        ("vid", "vid/bob", "live", 20, 0, (3.0, 4.0, 16.0, 16.0), 0.85, "a", 0.43),
        ("vid", "vid/bob", "live", 20, 0, (3.0, 4.0, 16.0, 16.0), 0.85, "b", 0.93),
    ]
    assert table["path"].tolist() == [str(record.path) for record in records for _ in range(2 + 2 * (
        record.subject is None))]
    assert str(table["frame"].dtype) == "Int64" and str(table["face"].dtype) == "Int64"

    bpcer = bpcer_table(table, 0.5, n_resamples=50).set_index(["model", "source"])
    assert bpcer.loc[("a", "src"), ["subjects", "faces", "rejected", "no_face"]].tolist() == [1, 1, 1, 1]
    assert bpcer.loc[("a", "grp"), ["subjects", "faces", "rejected", "no_face"]].tolist() == [2, 2, 1, 0]
    assert bpcer.loc[("a", ALL_LIVE), ["subjects", "faces", "rejected", "no_face"]].tolist() == [4, 4, 3, 1]


def test_faces_found_once_are_scored_by_any_model_without_detecting_again(records, tmp_path):
    detector = StubDetector()
    found = find_faces(RealFaces(records, [], {}, 10, tmp_path), detector, progress=False)
    models = [stub_model("a", 0.0), stub_model("b", 0.5)]
    table = score_yardstick(found, models, progress=False)
    assert detector.calls == len(records)
    pd.testing.assert_frame_equal(table, score_yardstick(records, models, StubDetector(), progress=False))
    only_b = score_yardstick(found, models[1:], progress=False)
    pd.testing.assert_frame_equal(only_b.reset_index(drop=True),
                                  table[table["model"] == "b"].reset_index(drop=True))
    assert detector.calls == len(records)


def test_nothing_to_score_is_refused(records, tmp_path):
    with pytest.raises(EvaluationError, match="no real faces to score"):
        find_faces([], StubDetector(), progress=False)
    with pytest.raises(EvaluationError, match="no real faces to score"):
        score_yardstick(RealFaces([], [], {}, 10, tmp_path), [stub_model("a", 0.0)], StubDetector(), progress=False)
    with pytest.raises(EvaluationError, match="needs at least one model"):
        score_yardstick(records, [], StubDetector(), progress=False)


def _rows(model: str, source: str, subject: str, label: str, *p_live: float) -> list[dict]:
    return [{"source": source, "subject": subject, "label": label, "path": f"{subject}/{index}.png", "frame": index,
             "face": 0, "box": None, "detector_score": 0.9, "model": model, "p_live": p}
            for index, p in enumerate(p_live)]


def _scores(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


NAN = float("nan")
# Per model: source -> subject -> P(live) of its faces (NaN: a picture without a face).
HAND = {
    "a": {"s1": {"s1/A": (0.2, 0.6, 0.4), "s1/B": (0.5,), "s1/C": (0.1,)},  # 0.5 is at the threshold: accepted
          "s2": {"s2/D": (0.7, 0.3), "s2/E": (NAN,)},
          "s3": {"s3/G": (NAN,), "s3/H": (NAN,)}},
    "b": {"s1": {"s1/A": (0.9, 0.85, 0.75), "s1/B": (0.79,), "s1/C": (0.95,)},
          "s2": {"s2/D": (0.81, 0.2), "s2/E": (NAN,)},
          "s3": {"s3/G": (NAN,), "s3/H": (NAN,)}},
}


@pytest.fixture
def hand_scores() -> pd.DataFrame:
    """HAND's live faces, plus attacks and minivision's samples (T1 a live-pool portrait), none counted in BPCER."""
    rows = []
    for model, sources in HAND.items():
        for source, subjects in sources.items():
            for subject, p_live in subjects.items():
                rows += _rows(model, source, subject, "live", *p_live)
        rows += _rows(model, "s1", "s1/F", "print", 0.1, 0.2) + _rows(model, "s2", "s2/R", "replay", 0.9)
        rows += _rows(model, SAMPLES_SOURCE, "minivision/T1", "live", 0.1)
        rows += _rows(model, SAMPLES_SOURCE, "minivision/F1", "print", 0.9)
    return _scores(rows)


COUNTED = ["model", "source", "threshold", "subjects", "faces", "rejected", "no_face"]


def test_bpcer_per_source_and_over_all_real_live_faces_equals_hand_counts(hand_scores):
    table = bpcer_table(hand_scores, {"a": 0.5, "b": 0.8, "unused": 0.1}, n_resamples=200)
    assert table[COUNTED].values.tolist() == [
        ["a", "s1", 0.5, 3, 5, 3, 0], ["a", "s2", 0.5, 1, 2, 1, 1], ["a", "s3", 0.5, 0, 0, 0, 2],
        ["a", ALL_LIVE, 0.5, 4, 7, 4, 3],
        ["b", "s1", 0.8, 3, 5, 2, 0], ["b", "s2", 0.8, 1, 2, 1, 1], ["b", "s3", 0.8, 0, 0, 0, 2],
        ["b", ALL_LIVE, 0.8, 4, 7, 3, 3],
    ]
    expected = [3 / 5, 1 / 2, NAN, 4 / 7, 2 / 5, 1 / 2, NAN, 3 / 7]
    np.testing.assert_allclose(table["bpcer"], expected)
    scored = table.dropna(subset=["bpcer"])
    assert (scored["low"] <= scored["bpcer"]).all() and (scored["bpcer"] <= scored["high"]).all()
    assert table.loc[table["source"] == "s3", ["low", "high"]].isna().all().all()
    one_subject = table[table["source"] == "s2"]  # every resample draws subject D: no spread
    assert (one_subject["low"] == 0.5).all() and (one_subject["high"] == 0.5).all()


def test_one_threshold_applies_to_every_model(hand_scores):
    table = bpcer_table(hand_scores, 0.5, n_resamples=50)
    assert table["threshold"].tolist() == [0.5] * 8
    assert table.loc[table["model"] == "b", "rejected"].tolist() == [0, 1, 0, 1]


def test_a_model_without_threshold_and_bad_settings_are_named(hand_scores):
    with pytest.raises(EvaluationError, match=r"no threshold for 'b'; give thresholds for every model of the scores "
                                              r"\('a', 'b'\)"):
        bpcer_table(hand_scores, {"a": 0.5})
    with pytest.raises(EvaluationError, match="n_resamples must be a positive integer, not 0"):
        bpcer_table(hand_scores, 0.5, n_resamples=0)
    for confidence in (0.0, 1.0, 95):
        with pytest.raises(EvaluationError, match=f"confidence must lie between 0 and 1 .*not {confidence}"):
            bpcer_table(hand_scores, 0.5, confidence=confidence)
    attacks_and_samples = hand_scores[(hand_scores["label"] != "live") | (hand_scores["source"] == SAMPLES_SOURCE)]
    with pytest.raises(EvaluationError, match="no live samples in the scores"):
        bpcer_table(attacks_and_samples, 0.5)


def test_intervals_are_reproducible_for_a_seed_and_paired_across_models(hand_scores):
    first = bpcer_table(hand_scores, {"a": 0.5, "b": 0.8}, n_resamples=300, seed=7)
    pd.testing.assert_frame_equal(first, bpcer_table(hand_scores, {"a": 0.5, "b": 0.8}, n_resamples=300, seed=7))
    a = hand_scores[hand_scores["model"] == "a"]
    # Other scores, the same verdicts at 0.5: the same draws give the same intervals.
    twin = a.assign(model="a2", p_live=a["p_live"].where(a["p_live"] >= 0.5, a["p_live"] / 2).where(
        a["p_live"] < 0.5, (a["p_live"] + 1) / 2))
    assert not np.allclose(twin["p_live"], a["p_live"], equal_nan=True)
    table = bpcer_table(pd.concat([a, twin]), 0.5, n_resamples=300, seed=7)
    columns = ["source", "bpcer", "low", "high"]
    pd.testing.assert_frame_equal(table[table["model"] == "a"][columns].reset_index(drop=True),
                                  table[table["model"] == "a2"][columns].reset_index(drop=True))


def _heavy(split_subject: bool) -> pd.DataFrame:
    """50 frames of one person, all rejected, and 50 people with one accepted photo each (BPCER 0.5).

    ``split_subject``: each of the 50 frames is its own subject instead (as if faces were resampled).
    """
    rows = []
    for index in range(50):
        rows += _rows("m", "src", f"src/heavy{index if split_subject else ''}", "live", 0.1)
        rows += _rows("m", "src", f"src/person{index}", "live", 0.9)
    return _scores(rows)


def test_subjects_not_faces_are_resampled():
    (by_subject,) = bpcer_table(_heavy(False), 0.5, n_resamples=2000, seed=0).query("source == 'src'").itertuples()
    (by_face,) = bpcer_table(_heavy(True), 0.5, n_resamples=2000, seed=0).query("source == 'src'").itertuples()
    assert by_subject.bpcer == by_face.bpcer == 0.5 and by_subject.faces == by_face.faces == 100
    assert (by_subject.subjects, by_face.subjects) == (51, 100)
    # About a third of the subject resamples miss the one heavy subject (BPCER 0); some draw it three times.
    assert by_subject.low == 0.0 and by_subject.high > 0.7
    # Resampling 100 independent faces: about 0.5 +- 0.1.
    assert 0.35 < by_face.low < 0.5 < by_face.high < 0.65


def test_two_subjects_one_rejected_give_the_whole_range_and_a_narrower_one_at_lower_confidence():
    scores = _scores(_rows("m", "src", "src/x", "live", 0.1) + _rows("m", "src", "src/y", "live", 0.9))
    (row,) = bpcer_table(scores, 0.5, n_resamples=4000, seed=3).query(f"source == '{ALL_LIVE}'").itertuples()
    assert (row.bpcer, row.low, row.high) == (0.5, 0.0, 1.0)
    (narrow,) = bpcer_table(scores, 0.5, n_resamples=4000, seed=3, confidence=0.4).query(
        f"source == '{ALL_LIVE}'").itertuples()
    assert (narrow.low, narrow.high) == (0.5, 0.5)


def test_sample_verdicts_pivot_p_live_per_model_and_sample(hand_scores):
    samples = []
    for model, p_live in {"b": (0.6, 0.7, 0.2), "a": (0.9, 0.1, NAN)}.items():
        for (tag, label), p in zip([("T1", "live"), ("F1", "print"), ("F2", "replay")], p_live, strict=True):
            samples += _rows(model, SAMPLES_SOURCE, f"minivision/{tag}", label, p)
    scores = pd.concat([hand_scores[hand_scores["source"] != SAMPLES_SOURCE], _scores(samples)])
    table = sample_verdicts(scores)
    assert table.index.tolist() == ["b", "a"] and table.index.name == "model"
    assert table.columns.tolist() == ["T1 (live)", "F1 (print)", "F2 (replay)"]
    np.testing.assert_array_equal(table.to_numpy(), [[0.6, 0.7, 0.2], [0.9, 0.1, NAN]])
    assert math.isnan(table.loc["a", "F2 (replay)"]), "no face found: NaN, the column kept"


def test_sample_verdicts_name_a_missing_source(hand_scores):
    without = hand_scores[hand_scores["source"] != SAMPLES_SOURCE]
    with pytest.raises(EvaluationError, match="no samples of source 'minivision' in the scores"):
        sample_verdicts(without)
    with pytest.raises(EvaluationError, match="no samples of source 'elsewhere'"):
        sample_verdicts(hand_scores, source="elsewhere")
    assert sample_verdicts(hand_scores, source="s2").columns.tolist() == ["D (live)", "E (live)", "R (replay)"]

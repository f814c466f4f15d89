"""Choosing the shipped model on real faces, its card, and the ship step: thresholds, halves, the choice, files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from fasutils.core.errors import EvaluationError, ToolingError
from fasutils.data.faces import Face
from fasutils.data.input_convention import JOHNRAIVENOLAZO
from fasutils.data.records import Record
from fasutils.evaluation.model_card import ModelCard, markdown_table, render_card
from fasutils.evaluation.selection import (
    HALVES,
    SplitImages,
    bpcer_threshold,
    candidate_row,
    choose,
    real_samples_right,
    yardstick_half,
)
from fasutils.evaluation.yardstick import SAMPLES_SOURCE, FoundFaces
from fasutils.export.classifiers import Classifier
from fasutils.tooling.ship import ship, stage
from fasutils.training.checkpoints import decision_threshold, save_for_inference
from fasutils.training.config import TrainConfig


def test_the_bpcer_threshold_rejects_at_most_the_target_share():
    scores = np.linspace(0.01, 1.0, 100)  # 100 live faces
    threshold = bpcer_threshold(scores, 0.05)
    assert (scores < threshold).sum() == 5 and (scores < np.nextafter(threshold, 2)).sum() == 6
    assert bpcer_threshold(scores, 0.0) == scores.min()  # nobody rejected
    assert bpcer_threshold([0.7, 0.2, 0.9], 0.05) == 0.2  # 5 % of 3 faces: none may be rejected
    for bad in ([], [0.5, np.nan]):
        with pytest.raises(EvaluationError, match="finite live scores"):
            bpcer_threshold(bad)
    with pytest.raises(EvaluationError, match="target"):
        bpcer_threshold([0.5], 1.0)


def test_halves_are_stable_and_split_people_about_evenly():
    people = [f"source/person{i}" for i in range(400)]
    halves = [yardstick_half(person) for person in people]
    assert halves == [yardstick_half(person) for person in people] and set(halves) == set(HALVES)
    assert 150 < halves.count("select") < 250


def _picture(tmp_path: Path, name: str, level: int) -> Path:
    path = tmp_path / f"{name}.png"
    cv2.imwrite(str(path), np.full((64, 64, 3), level, np.uint8))
    return path


def _live_by_brightness(name: str = "bright") -> Classifier:
    """P(live) = mean brightness of the picture / 255."""
    return Classifier(name, JOHNRAIVENOLAZO, lambda images, boxes: np.array([i.mean() / 255 for i in images]))


def test_a_candidate_is_placed_on_the_select_half_and_counted_on_both(tmp_path):
    people = [f"src/p{i}" for i in range(40)]
    records, images, faces = [], [], []
    for index, person in enumerate(people):  # live faces of brightness 60..255
        level = 60 + 5 * index
        records.append(Record(path=_picture(tmp_path, f"live{index}", level), is_spoof=False, attack_type="live",
                              subject=person, source="src"))
        images.append(np.full((64, 64, 3), level, np.uint8))
        faces.append([Face((8.0, 8.0, 40.0, 40.0), np.zeros((5, 2)), 0.9)])
    for kind, level in (("T1", 250), ("F1", 20), ("F2", 30)):
        label = "live" if kind == "T1" else "print"
        records.append(Record(path=tmp_path / f"image_{kind}.jpg", is_spoof=label != "live", attack_type=label,
                              subject=f"{SAMPLES_SOURCE}/{kind}", source=SAMPLES_SOURCE))
        images.append(np.full((64, 64, 3), level, np.uint8))
        faces.append([Face((8.0, 8.0, 40.0, 40.0), np.zeros((5, 2)), 0.9)])
    found = FoundFaces(records, faces, images)
    synthetic = [Record(path=_picture(tmp_path, f"s{i}", level), is_spoof=kind != "live", attack_type=kind,
                        box=(8.0, 8.0, 40.0, 40.0))
                 for i, (kind, level) in enumerate([("live", 200), ("live", 220), ("print", 100), ("print", 150),
                                                    ("replay", 180)])]
    row = candidate_row("bright", _live_by_brightness(), found, SplitImages(synthetic))
    select = [60 + 5 * i for i, person in enumerate(people) if yardstick_half(person) == "select"]
    report = [60 + 5 * i for i, person in enumerate(people) if yardstick_half(person) == "report"]
    assert row["threshold"] == pytest.approx(bpcer_threshold(np.array(select) / 255))  # T1 is not in the halves
    assert row["threshold_on"] == "select half"
    assert row["select_bpcer"] <= 0.05 and row["report_faces"] == len(report)
    assert row["report_bpcer"] == pytest.approx(np.mean(np.array(report) / 255 < row["threshold"]))
    passing = {"print": np.mean(np.array([100, 150]) / 255 >= row["threshold"]),
               "replay": 180 / 255 >= row["threshold"]}
    assert row["synthetic_apcer"] == pytest.approx(max(passing.values()))
    assert row["T1"] == pytest.approx(250 / 255) and row["F1"] == pytest.approx(20 / 255)

    only_samples = FoundFaces(records[-3:], faces[-3:], images[-3:])  # offline: minivision's samples alone
    alone = candidate_row("bright", _live_by_brightness(), only_samples, SplitImages(synthetic))
    assert alone["threshold"] == pytest.approx(250 / 255)  # T1 alone places it, in whichever half it falls
    in_select = yardstick_half(f"{SAMPLES_SOURCE}/T1") == "select"
    assert alone["threshold_on"] == "select half" if in_select else alone["threshold_on"].startswith("all real live")
    table = pd.DataFrame([{**row, "candidate": "a", "synthetic_apcer": 0.3}, {**row, "candidate": "b"},
                          {**row, "candidate": "c", "synthetic_apcer": 0.3}])
    table.loc[1, "synthetic_apcer"] = 0.1
    assert choose(table)["candidate"] == "b"
    assert choose(table.drop(index=1))["candidate"] == "a"  # the earliest on a tie
    with pytest.raises(EvaluationError, match="no candidates"):
        choose(table.iloc[:0])
    table.loc[1, "F2"] = table.loc[1, "threshold"]  # b lets the replay photo through: not eligible
    assert not real_samples_right(table)[1] and choose(table)["candidate"] == "a"
    table["T1"] = 0.0  # nobody decides the samples right: all are eligible again
    assert choose(table)["candidate"] == "b"


def test_the_card_renders_every_section_as_markdown():
    measured = pd.DataFrame({"AUC": [0.99, np.nan]}, index=pd.Index(["ours", "theirs"], name="model"))
    card = ModelCard("m.pt", "a model", {"source": "scratch", "threshold": "0.7"}, measured, notes=["ours wins"],
                     per_source=pd.DataFrame({"source": ["a"], "bpcer": [0.05]}), reproducibility=["seeded"],
                     limitations=["small"], extra={"More": "text"})
    text = render_card(card)
    assert text.startswith("# `m.pt`: a model\n")
    assert "| source | scratch |" in text and "| ours | 0.99 |" in text and "| theirs | – |" in text
    for heading in ("## Measured", "### BPCER on real live faces, per source", "## Reproducibility",
                    "## Limitations", "## More"):
        assert heading in text
    assert markdown_table(measured).splitlines()[:2] == ["| model | AUC |", "|---|---|"]


def test_stage_then_ship_puts_the_model_threshold_and_card_in_place(tmp_path, monkeypatch):
    from fasutils.core import paths

    monkeypatch.setenv("FAS_BUILD_DIR", str(tmp_path / "build"))
    config = TrainConfig(epochs=1, batch_size=2)
    candidate = save_for_inference(config.build_model(), config, tmp_path / "run" / "epoch_003.pt")
    name = paths.shipped_model().stem
    staged = stage(candidate, "# card\n", 0.61, {"quick": True, "chosen_by": "test"})
    assert [p.name for p in staged] == [f"{name}.pt", f"{name}.json", f"{name}.md"]
    assert decision_threshold(staged[0]) == 0.61 and json.loads(staged[1].read_text())["weights"] == f"{name}.pt"
    target = tmp_path / "models"
    with pytest.raises(ToolingError, match="QUICK run"):
        ship(target=target)
    assert not target.exists()  # nothing shipped from a smoke run

    stage(candidate, "# card\n", 0.61, {"quick": False})
    shipped = ship(target=target)
    assert [p.name for p in shipped] == [p.name for p in staged]
    assert shipped[0].read_bytes() == candidate.read_bytes() and shipped[2].read_text() == "# card\n"
    assert json.loads(shipped[1].read_text())["quick"] is False
    with pytest.raises(ToolingError, match="lacks .*run notebook 03 in full mode"):
        ship(source=tmp_path / "empty", target=target)
    with pytest.raises(ToolingError, match="threshold"):
        stage(candidate, "", 1.5, {})

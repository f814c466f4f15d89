"""``python -m fasutils evaluate`` end to end: CelebA-Spoof in its published layout, a folder tree, a manifest, videos,
bad input; and ``python -m fasutils report`` giving the same numbers from the ``scores.csv`` evaluate wrote."""

from __future__ import annotations

import hashlib
import html
import json
import shlex
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from skimage import data as photos

from fasutils.cli import build_parser, main
from fasutils.core import paths
from fasutils.data.input_convention import MINIVISION_V2
from fasutils.data.readers import write_manifest
from fasutils.data.records import Record
from fasutils.data.videos import write_video
from fasutils.evaluation import runner as evaluation
from fasutils.evaluation.from_scores import headline
from fasutils.evaluation.report import read_report
from fasutils.evaluation.runner import EvaluationSettings, read_dataset
from fasutils.evaluation.scores import SCORE_COLUMNS
from fasutils.export.classifiers import Classifier

FACE = (178, 63, 90, 113)  # the astronaut's face in skimage's photo (x, y, w, h), as YuNet finds it
SIDE = 160  # px, side of every generated image


def _photo(seed: int, spoof: bool, face: bool = True) -> np.ndarray:
    """A SIDE x SIDE RGB crop around the astronaut's face (or of a coffee cup); spoofs blurred, washed out, striped."""
    rng = np.random.default_rng(seed)
    if face:
        x, y = FACE[0] - 60 + int(rng.integers(-15, 16)), FACE[1] - 50 + int(rng.integers(-15, 16))
        image = cv2.resize(photos.astronaut()[y:y + 220, x:x + 220], (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    else:
        image = cv2.resize(photos.coffee()[:300, :300], (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    if spoof:
        stripes = 12 * np.sin(np.arange(SIDE) / 1.3)[:, None, None]
        image = np.clip(cv2.GaussianBlur(image, (3, 3), 0) * 0.85 + 30 + stripes, 0, 255).astype(np.uint8)
    return image


def _write(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


def _labels(spoof_type: int) -> list[int]:
    """CelebA-Spoof's 44 labels: [40] spoof type, [43] 0 live / 1 spoof (attributes, light, place left 0)."""
    values = [0] * 44
    values[40], values[43] = spoof_type, int(spoof_type != 0)
    return values


def celeba_spoof_tree(root: Path) -> Path:
    """CelebA-Spoof's published layout: ``Data/<split>/<subject>/<live|spoof>/<id>.{jpg,png}`` with ``<id>_BB.txt``
    (x y w h score in a 224 frame), labels in ``metas/intra_test/<split>_label.{json,txt}``.

    Test split: 3 subjects x (2 live + 2 spoof) good images, and three bad entries (no box file, a truncated image,
    an image that does not exist). One train entry, which the evaluation must not read.
    """
    box = " ".join(str(round(v * 224 / SIDE)) for v in (60, 50, 90, 113))  # the face in the crop, 224 frame
    entries: dict[str, dict[str, list[int]]] = {"train": {}, "test": {}}

    def add(split: str, subject: int, number: int, spoof_type: int, seed: int, with_box: bool = True) -> Path:
        folder, suffix = ("spoof", ".png") if spoof_type else ("live", ".jpg")
        key = f"Data/{split}/{subject}/{folder}/{number:06d}{suffix}"
        path = _write(root / key, _photo(seed, bool(spoof_type)))
        if with_box:
            path.with_name(f"{number:06d}_BB.txt").write_text(f"{box} 0.99\n")
        entries[split][key] = _labels(spoof_type)
        return path

    for subject, spoof_types in ((4930, (1, 7)), (5012, (3, 9)), (6000, (4, 10))):
        for index, spoof_type in enumerate((0, 0, *spoof_types)):
            add("test", subject, subject * 10 + index, spoof_type, seed=subject + index)
    add("test", 6000, 7777, 0, seed=1, with_box=False)
    cut = add("test", 6000, 8888, 2, seed=2)
    cut.write_bytes(cut.read_bytes()[:400])
    entries["test"]["Data/test/6000/spoof/009999.png"] = _labels(8)
    add("train", 1, 1, 0, seed=3)
    metas = root / "metas" / "intra_test"
    metas.mkdir(parents=True)
    for split, labels in entries.items():
        (metas / f"{split}_label.json").write_text(json.dumps(labels))
        (metas / f"{split}_label.txt").write_text("".join(f"{key} {value[43]}\n" for key, value in labels.items()))
    return root


def _agree(files_json: Path, files_html: Path) -> dict:
    """The report's JSON, after checking the HTML shows its headline numbers and skipped counts as written."""
    document = read_report(files_json)
    page = files_html.read_text(encoding="utf-8")
    for row in headline(document):
        for value in row.values():
            assert value in html.unescape(page), f"{value} (JSON) is not in the HTML"
    for problem, count in document["provenance"]["skipped"].items():
        assert f"<td>skipped: {html.escape(problem)}</td><td>{count}</td>" in page
    return document


@pytest.fixture(scope="module")
def celeba_run(tmp_path_factory):
    root = celeba_spoof_tree(tmp_path_factory.mktemp("data") / "CelebA_Spoof")
    out = tmp_path_factory.mktemp("report")
    argv = ["evaluate", "--data", str(root), "--format", "celeba-spoof", "--model", "suite", "--rule", "eer",
            "--bootstrap", "20", "--name", "tiny CelebA-Spoof", "--out", str(out)]
    return root, out, main(argv)


def test_celeba_spoof_end_to_end_through_the_command_line(celeba_run):
    root, out, code = celeba_run
    assert code == 0
    document = _agree(out / "evaluation_report.json", out / "evaluation_report.html")
    model, = document["models"]
    assert model["model"] == "suite" and model["dataset"] == "tiny CelebA-Spoof (test split)"
    assert model["counts"] == {"live": 6, "print": 2, "replay": 2, "cut_photo": 1, "mask": 1}
    assert model["n_subjects"] == 3 and 0 <= model["auc"] <= 1
    assert model["threshold"]["rule"] == "eer" and "test split itself" in model["threshold"]["chosen_on"]
    assert model["bootstrap"]["n_resamples"] == 20 and model["bootstrap"]["unit"] == "subject"
    source = document["provenance"]
    assert source["skipped"] == {"missing box file": 1, "image truncated": 1, "missing image": 1}
    assert source["records"] == model["counts"] and "read_celeba_spoof" in source["reader"]
    suite, = source["models"]
    assert suite["sha256"] == hashlib.sha256(paths.shipped_model().read_bytes()).hexdigest()
    assert "live = index 0" in suite["convention"]


def test_the_recorded_command_reproduces_the_settings(celeba_run):
    root, out, _ = celeba_run
    command = read_report(out / "evaluation_report.json")["provenance"]["command"]
    words = shlex.split(command)
    assert words[:4] == ["python", "-m", "fasutils", "evaluate"]
    args = build_parser().parse_args(words[3:])
    assert (Path(args.data), args.format, args.model, args.rule, args.bootstrap, args.name, Path(args.out)) == (
        root.resolve(), "celeba-spoof", ["suite"], "eer", 20, "tiny CelebA-Spoof", out.resolve())
    settings = EvaluationSettings(root, "celeba-spoof", rule="eer", n_resamples=20, name="tiny CelebA-Spoof")
    assert settings.command(out) == command


def test_folder_tree_gets_detected_boxes_and_counts_faceless_images_as_non_responses(tmp_path, reference_dir):
    for index in range(4):
        _write(tmp_path / "data" / "live" / f"{index}.jpg", _photo(index, spoof=False))
        _write(tmp_path / "data" / "print" / f"{index}.png", _photo(10 + index, spoof=True))
    _write(tmp_path / "data" / "replay" / "cup.jpg", _photo(0, spoof=True, face=False))
    (tmp_path / "data" / "replay" / "notes.txt").write_text("not an image")
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(tmp_path / "data"), "--format", "folder", "--model", "suite",
                 "--threshold", "0.5", "--bootstrap", "0", "--out", str(out)]) == 0
    document = _agree(out / "evaluation_report.json", out / "evaluation_report.html")
    model = document["models"][0]
    assert model["counts"] == {"live": 4, "print": 4} and model["bootstrap"] is None
    assert (model["threshold"]["rule"], model["threshold"]["value"]) == ("fixed", 0.5)
    assert document["provenance"]["skipped"] == {"not an image file": 1, "non-response: no face found": 1}
    assert "face boxes: 8 found by yolov7-lite" in document["provenance"]["reader"]  # predict's detector
    assert document["provenance"]["detector"] == "yolov7-lite"
    silent = model["non_response"]
    assert (silent["bpnrr"], silent["apnrr"], silent["reasons"]) == (0.0, {"print": 0.0, "replay": 1.0},
                                                                     {"no face found": 1})
    counted = silent["counted_as_rejections"]  # the faceless replay stopped: APCER's denominator grows
    assert {row["attack_type"]: row["count"] for row in counted["per_type"]} == {"live": 4, "print": 4, "replay": 1}
    assert counted["apcer"]["replay"] == 0.0 and counted["bpcer"] == model["at_threshold"]["bpcer"]
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    assert len(scores) == 9 and set(scores["detector"]) == {"yolov7-lite"}
    assert scores.loc[scores["non_response"] != "", "path"].tolist() == [str(tmp_path / "data" / "replay" / "cup.jpg")]


@pytest.fixture
def manifest(tmp_path) -> Path:
    """The suite's CSV manifest with face boxes: 2 train, 8 val and 8 test images, 4 subjects per split."""
    records = []
    for split, count in (("train", 2), ("val", 8), ("test", 8)):
        for index, kind in enumerate(("live", "print", "live", "replay") * 2):
            if index < count:
                path = _write(tmp_path / split / f"{index}.jpg", _photo(len(records), spoof=kind != "live"))
                records.append(Record(path, kind != "live", kind, subject=f"{split}{index % 4}", split=split,
                                      box=(60, 50, 90, 113)))
    return write_manifest(records, tmp_path / "manifest.csv")


def test_manifest_threshold_is_chosen_on_the_val_split(manifest, tmp_path):
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(manifest), "--format", "csv", "--rule", "eer", "--bootstrap", "0",
                 "--out", str(out)]) == 0
    document = _agree(out / "evaluation_report.json", out / "evaluation_report.html")
    model = document["models"][0]
    assert model["counts"] == {"live": 4, "print": 2, "replay": 2} and model["dataset"] == "manifest (test split)"
    assert model["threshold"]["chosen_on"] == "val split (8 images)"
    assert "not used: 2 train records" in document["provenance"]["reader"]
    assert document["provenance"]["records"] == {"live": 8, "print": 4, "replay": 4}  # test and val


def test_scores_with_nan_stop_naming_the_model(manifest, tmp_path, monkeypatch, capsys):
    broken = Classifier("broken", MINIVISION_V2, lambda images, boxes: np.full(len(images), np.nan))
    monkeypatch.setattr(evaluation, "load_classifier", lambda spec: broken)
    assert main(["evaluate", "--data", str(manifest), "--format", "csv", "--threshold", "0.5",
                 "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("error: broken on the manifest (test split): scores contain 8 NaN"), error
    assert not (tmp_path / "out" / "evaluation_report.json").exists()


def _only_live(root: Path) -> Path:
    _write(root / "live" / "a.jpg", _photo(0, spoof=False))
    (root / "spoof").mkdir()
    return root


@pytest.mark.parametrize("make, extra, message", [
    (lambda root: (root / "live").mkdir(parents=True) or root, [], "no records to evaluate"),
    (_only_live, [], "ROC undefined: only live samples"),
    (_only_live, ["--model", "no such model"], "'no such model' is not a classifier the suite knows"),
    (celeba_spoof_tree, ["--format", "celeba-spoof"], "cannot choose the threshold on the test split itself"),
])
def test_bad_input_stops_with_one_clear_message(tmp_path, capsys, make, extra, message):
    root = make(tmp_path / "data")
    argv = ["evaluate", "--data", str(root), "--format", "folder", "--out", str(tmp_path / "out"), *extra]
    assert main(argv) == 2
    error = capsys.readouterr().err.splitlines()[-1]  # after any progress bar
    assert error.startswith("error: ") and message in error, error
    if "threshold" in message:  # scored already: the scores are kept for 'report --scores' with other settings
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scores.csv"] and "report --scores" in error
    else:
        assert not (tmp_path / "out").exists()


def test_celeba_reader_reads_only_the_test_split(tmp_path):
    read, reader = read_dataset(celeba_spoof_tree(tmp_path / "c"), "celeba-spoof")
    assert {record.split for record in read.records} == {"test"} and "test split" in reader


def test_the_report_from_scores_csv_equals_the_one_evaluate_wrote(manifest, tmp_path):
    out, again, split = tmp_path / "evaluated", tmp_path / "again", tmp_path / "split"
    options = ["--rule", "eer", "--bootstrap", "20", "--seed", "3"]
    assert main(["evaluate", "--data", str(manifest), "--format", "csv", *options, "--out", str(out)]) == 0
    scores = pd.read_csv(out / "scores.csv", dtype=str, keep_default_na=False)
    assert list(scores.columns) == list(SCORE_COLUMNS) and len(scores) == 16  # 8 test and 8 val images, one model
    assert set(scores["detector"]) == {"data"} and set(scores["split"]) == {"test", "val"}
    assert main(["report", "--scores", str(out / "scores.csv"), *options, "--out", str(again)]) == 0
    split.mkdir()  # bob.pad's way: development and evaluation scores in two files
    for name in ("test", "val"):
        scores[scores["split"] == name].to_csv(split / f"{name}.csv", index=False)
    assert main(["report", "--scores", str(split / "test.csv"), "--dev", str(split / "val.csv"), *options,
                 "--out", str(split / "report")]) == 0
    first, second, third = (_agree(folder / "evaluation_report.json", folder / "evaluation_report.html")
                            for folder in (out, again, split / "report"))
    assert second["models"] == first["models"] and third["models"] == first["models"]  # every number, JSON-exact
    assert first["models"][0]["threshold"]["chosen_on"] == "val split (8 images)"
    assert shlex.split(second["provenance"]["command"])[3:6] == ["report", "--scores", str(out / "scores.csv")]


def test_too_few_records_names_the_rows_the_reader_skipped(tmp_path, capsys):
    _write(tmp_path / "data" / "live" / "a.jpg", _photo(0, spoof=False))
    manifest = tmp_path / "data" / "manifest.csv"
    manifest.write_text("path,is_spoof,attack_type\nlive/a.jpg,0,live\n../b.jpg,1,print\nlive/a.jpg,maybe,print\n")
    assert main(["evaluate", "--data", str(manifest), "--format", "csv", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert "ROC undefined: only live samples (1)" in error and "The reader skipped 2 entries" in error, error
    assert f"{manifest} line 3 (path outside root); {manifest} line 4 (bad label)" in error


def _clip(path: Path, frames: list[np.ndarray]) -> Path:
    return write_video(path, frames, fps=10)


@pytest.mark.reference
def test_videos_are_scored_per_frame_and_evaluated_per_video(reference_dir, tmp_path):
    data = tmp_path / "data"
    for index in range(2):
        _clip(data / "live" / f"person{index}.avi", [_photo(5 * index + k, spoof=False) for k in range(5)])
        _clip(data / "print" / f"print{index}.avi", [_photo(10 + 5 * index + k, spoof=True) for k in range(5)])
    _clip(data / "replay" / "cup.avi", [_photo(k, spoof=True, face=False) for k in range(3)])
    (data / "replay" / "broken.avi").write_bytes(b"not a video")
    out = tmp_path / "report"
    assert main(["evaluate", "--data", str(data), "--format", "folder", "--detector", "yunet", "--every", "2",
                 "--threshold", "0.5", "--bootstrap", "0", "--out", str(out)]) == 0
    document = _agree(out / "evaluation_report.json", out / "evaluation_report.html")
    model = document["models"][0]
    assert model["dataset"] == "data (all records, per video: mean P(live) of its scored frames)"
    assert model["counts"] == {"live": 2, "print": 2} and model["non_response"]["apnrr"]["replay"] == 1.0
    assert document["provenance"]["skipped"] == {"unreadable video": 1, "non-response: no face found": 1}
    assert document["provenance"]["detector"] == "yunet"
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    assert sorted(set(scores["frame"])) == [0, 2, 4] and len(scores) == 4 * 3 + 2  # the cup: frames 0 and 2
    per_video = scores[scores["non_response"] == ""].astype({"score": float}).groupby("path")["score"]
    for aggregate, expected in (("mean", per_video.mean()), ("min", per_video.min()), ("max", per_video.max())):
        again = tmp_path / aggregate
        assert main(["report", "--scores", str(out / "scores.csv"), "--threshold", "0.5", "--bootstrap", "0",
                     "--aggregate", aggregate, "--out", str(again)]) == 0
        per_type = read_report(again / "evaluation_report.json")["models"][0]["at_threshold"]["per_type"]
        live = [v for p, v in expected.items() if "person" in p]
        assert per_type[0]["mean_score"] == pytest.approx(np.mean(live))  # live: the mean of its videos
    assert main(["report", "--scores", str(out / "scores.csv"), "--threshold", "0.5", "--bootstrap", "0",
                 "--level", "frame", "--out", str(tmp_path / "frames")]) == 0
    frames = read_report(tmp_path / "frames" / "evaluation_report.json")["models"][0]
    assert frames["counts"] == {"live": 6, "print": 6} and frames["non_response"]["reasons"] == {"no face found": 2}

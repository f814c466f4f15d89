"""Score files as ``python -m fasutils report`` reads them: any tool's scores, video levels, non-responses and
bad input."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from fasutils.cli import main
from fasutils.core.errors import EvaluationError
from fasutils.evaluation.metrics import evaluate_scores
from fasutils.evaluation.report import read_report
from fasutils.evaluation.scores import at_level, check_scores


def _table(text: str) -> pd.DataFrame:
    return check_scores(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False), "scores.csv")


@pytest.mark.parametrize("text, message", [
    ("path,score\na.jpg,0.9\n", "lacks the column(s) label (required: path, label, score; its header: path, score)"),
    ("path,label,score\na.jpg,maybe,0.9\nb.jpg,spoof,0.1\n", "unknown label(s) 'maybe' in 1 row (line 2); write live"),
    ("path,label,score\na.jpg,live,\nb.jpg,spoof,nan\n", "the score is missing (empty or NaN) in 2 rows (lines 2, 3) "
                                                        "without a reason"),
    ("path,label,score\na.jpg,live,0.9\na.jpg,live,0.8\nb.jpg,spoof,0.1\n", "the same model, path and frame repeat "
                                                                          "in 2 rows (lines 2, 3); several models' "
                                                                          "scores need a model column"),
    ("model,path,label,score\nm,a.jpg,live,0.9\nm,a.jpg,live,0.9\n", "each model scores each sample (or frame) once"),
    ("path,label,score\na.jpg,live,high\n", "score is not a number in 1 row (line 2), e.g. 'high'"),
    ("path,label,score\na.jpg,live,inf\n", "score is infinite in 1 row (line 2)"),
    ("path,label,attack_type,score\na.jpg,live,print,0.9\n", "label and attack_type disagree in 1 row (line 2)"),
    ("path,label,attack_type,score\na.jpg,spoof,photo,0.9\n", "unknown attack type(s) 'photo' in 1 row (line 2)"),
    ("path,label,score,non_response\na.jpg,live,0.5,no face found\n", "hold a score and a non_response reason"),
    ("path,label,score,frame\na.avi,live,0.5,-1\n", "frame is not a frame index (0 or more) in 1 row (line 2)"),
    ("path,label,score\n", "holds no score rows"),
    ("", "cannot read the score file"),
])
def test_a_bad_score_file_stops_with_one_clear_message(tmp_path, capsys, text, message):
    scores = tmp_path / "scores.csv"
    scores.write_text(text)
    assert main(["report", "--scores", str(scores), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(scores) in error and message in error and error.count("\n") == 1, error
    assert not (tmp_path / "out").exists()


def test_another_tools_scores_with_non_responses_make_a_report(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["path,label,score,non_response"]
    for index in range(30):
        label = "bonafide" if index % 3 == 0 else "attack"  # bob.pad's words
        score = rng.uniform(0.5, 1) if label == "bonafide" else rng.uniform(0, 0.7)
        lines.append(f"img{index}.png,{label},{score!r}," if index % 10 else f"img{index}.png,{label},,no face found")
    scores = tmp_path / "other_tool.csv"
    scores.write_text("\n".join(lines) + "\n")
    assert main(["report", "--scores", str(scores), "--rule", "eer", "--bootstrap", "0", "--out", str(tmp_path)]) == 0
    document = read_report(tmp_path / "evaluation_report.json")
    model, = document["models"]
    assert model["model"] == "other_tool" and model["dataset"] == "other_tool (all records)"
    assert model["counts"] == {"live": 9, "other": 18} and model["non_response"]["apnrr"] == {"other": 2 / 20}
    assert model["threshold"]["chosen_on"].startswith("all records itself")
    assert document["provenance"]["skipped"] == {"non-response: no face found": 3}
    assert document["provenance"]["models"][0]["sha256"] == "not known: read from a score file"


def test_development_scores_must_hold_every_model(tmp_path, capsys):
    (tmp_path / "test.csv").write_text("model,path,label,score\na,x.jpg,live,0.9\nb,x.jpg,live,0.8\n"
                                       "a,y.jpg,spoof,0.1\nb,y.jpg,spoof,0.2\n")
    (tmp_path / "dev.csv").write_text("model,path,label,score\na,u.jpg,live,0.9\na,v.jpg,spoof,0.1\n")
    assert main(["report", "--scores", str(tmp_path / "test.csv"), "--dev", str(tmp_path / "dev.csv"),
                 "--out", str(tmp_path / "out")]) == 2
    assert "the development scores lack model(s) b" in capsys.readouterr().err


VIDEOS = """path,label,attack_type,frame,score,non_response
a.avi,live,live,0,0.2,
a.avi,live,live,10,0.6,
a.avi,live,live,20,,no face found
img.jpg,spoof,print,,0.3,
b.avi,spoof,replay,0,,no face found
b.avi,spoof,replay,10,,no face found
"""


@pytest.mark.parametrize("aggregation, live", [("mean", 0.4), ("min", 0.2), ("max", 0.6)])
def test_a_video_is_the_named_aggregate_of_its_scored_frames(aggregation, live):
    rows, level = at_level(_table(VIDEOS), aggregation=aggregation)
    assert level == "video" and rows["path"].tolist() == ["a.avi", "img.jpg", "b.avi"]  # in order of appearance
    assert rows["score"].iloc[0] == pytest.approx(live) and rows["score"].iloc[1] == 0.3
    assert np.isnan(rows["score"].iloc[2]) and rows["non_response"].tolist() == ["", "", "no face found"]
    assert rows["frames"].tolist()[::2] == [3, 2] and rows["scored_frames"].tolist()[::2] == [2, 0]
    frames, level = at_level(_table(VIDEOS), "frame")
    assert level == "frame" and len(frames) == 6
    with pytest.raises(EvaluationError, match="per-video scores need frame numbers"):
        at_level(_table("path,label,score\nx.jpg,live,0.5\n"), "video")


def test_non_responses_are_read_left_out_and_counted_as_rejections():
    report = evaluate_scores([0.9, 0.8, 0.3, 0.1, 0.7], ["live"] * 3 + ["print"] * 2, 0.5, model="m", dataset="d",
                             n_resamples=0, non_responses={"live": 1, "print": 2},
                             non_response_reasons={"no face found": 3})
    document = report.to_dict()
    silent = document["non_response"]
    assert (document["at_threshold"]["bpcer"], document["at_threshold"]["apcer"]) == (1 / 3, {"print": 0.5})
    assert (silent["bpnrr"], silent["apnrr"], silent["total"]) == (0.25, {"print": 0.5}, 3)
    counted = silent["counted_as_rejections"]  # the live one rejected: an error; the attacks stopped: no error
    assert (counted["bpcer"], counted["apcer"], counted["acer"]) == (0.5, {"print": 0.25}, 0.375)
    assert report.presentations == {"live": 4, "print": 4}
    with pytest.raises(EvaluationError, match="unknown attack type"):
        evaluate_scores([0.9, 0.1], ["live", "print"], 0.5, model="m", dataset="d", n_resamples=0,
                        non_responses={"photo": 1})


def test_the_det_curve_stays_finite_when_an_attack_scores_highest():
    report = evaluate_scores([0.2, 0.9, 0.4, 0.95], ["live", "live", "print", "print"], 0.5, model="m", dataset="d",
                             n_resamples=0)
    assert np.isfinite(report.det.thresholds).all() and report.det.thresholds.max() > 0.95

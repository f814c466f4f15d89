"""OULU-NPU in its published layout: the reader for protocols 1-4 and the per-protocol ACER table papers report.

The tree is generated in OULU-NPU's layout (``{Train,Dev,Test}_files/<Phone>_<Session>_<User>_<File>.avi`` with
an eye-position ``.txt`` beside each, ``Protocols/Protocol_N/...``) with tiny Motion-JPEG videos of 3 frames whose
brightness is the score a stub classifier reads back, so the protocol arithmetic is checked without a model.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from fasutils.cli import main
from fasutils.data.faces import Face
from fasutils.data.input_convention import MINIVISION_V2
from fasutils.data.oulu_npu import PROTOCOLS, protocol_lists, read_oulu_npu
from fasutils.data.videos import write_video
from fasutils.evaluation import runner as evaluation
from fasutils.evaluation.report import read_report
from fasutils.export.classifiers import Classifier

USERS = {"Train": ("01",), "Dev": ("21",), "Test": ("36", "37")}  # OULU-NPU: users 1-20, 21-35, 36-55
EVERY_FILE = (1, 2, 3, 4, 5)  # 1 real, 2-3 print, 4-5 replay
SILENT = "1_3_37_1"  # a live test video whose frames are black: the stub detector finds no face in it
SIDE = 48


def _spec(protocol: str) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """(phones, sessions, files) per split, following each protocol's design on fewer phones and users."""
    number, _, sub = protocol.partition("_")
    phone = int(sub or 1)
    other = phone % 6 + 1
    if number == "1":  # unseen session
        return {"Train": ((1, 2), (1, 2), EVERY_FILE), "Dev": ((1, 2), (1, 2), EVERY_FILE),
                "Test": ((1, 2), (3,), EVERY_FILE)}
    if number == "2":  # unseen printer and display
        return {"Train": ((1, 2), (1, 2, 3), (1, 2, 4)), "Dev": ((1, 2), (1, 2, 3), (1, 2, 4)),
                "Test": ((1, 2), (1, 2, 3), (1, 3, 5))}
    if number == "3":  # leave one phone out
        return {"Train": ((other,), (1,), EVERY_FILE), "Dev": ((other,), (1,), EVERY_FILE),
                "Test": ((phone,), (1,), EVERY_FILE)}
    return {"Train": ((other,), (1, 2), (1, 2, 4)), "Dev": ((other,), (1, 2), (1, 2, 4)),  # 4: all unseen
            "Test": ((phone,), (3,), (1, 3, 5))}


def _names(prefix: str, phones, sessions, files) -> list[str]:
    return [f"{p}_{s}_{u}_{f}" for u in USERS[prefix] for p in phones for s in sessions for f in files]


def _score(name: str) -> float:
    """The P(live) the stub reads from the frames: live 0.5-0.9, attacks 0.1-0.6, fixed per video."""
    spread = zlib.crc32(name.encode()) % 1000 / 1000
    return 0.5 + 0.4 * spread if name.endswith("_1") else 0.1 + 0.5 * spread


def oulu_npu_tree(root: Path) -> Path:
    """OULU-NPU's published layout, with every video any protocol lists, and four bad lines in Protocol_1/Test.txt:
    a missing video, a label contradicting the file number, a malformed line and an unreadable video."""
    lists: dict[str, dict[str, list[str]]] = {p: {prefix: _names(prefix, *spec) for prefix, spec in _spec(p).items()}
                                              for p in PROTOCOLS}
    for prefix in USERS:
        for name in sorted({n for splits in lists.values() for n in splits[prefix]}):
            value = 0 if name == SILENT else round(255 * _score(name))
            frames = [np.full((SIDE, SIDE, 3), value, np.uint8) for _ in range(3)]
            write_video(root / f"{prefix}_files" / f"{name}.avi", frames)
            (root / f"{prefix}_files" / f"{name}.txt").write_text("".join(f"{i}, 16, 20, 32, 20\n" for i in range(3)))
    (root / "Test_files" / "3_3_37_4.avi").write_bytes(b"RIFF....AVI not really")
    for protocol, splits in lists.items():
        number, _, sub = protocol.partition("_")
        folder = root / "Protocols" / f"Protocol_{number}"
        folder.mkdir(parents=True, exist_ok=True)
        for prefix, names in splits.items():
            lines = [f"{'+1' if name.endswith('_1') else '-1'},{name}" for name in names]
            if protocol == "1" and prefix == "Test":
                lines += ["-1,3_3_36_2", "+1,1_3_36_2", "1_3_36_2", "-1,3_3_37_4"]
            (folder / f"{prefix}{'_' + sub if sub else ''}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def oulu(tmp_path_factory) -> Path:
    return oulu_npu_tree(tmp_path_factory.mktemp("oulu") / "OULU-NPU")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_reads_its_three_lists(oulu, protocol):
    read = read_oulu_npu(oulu, protocol)
    expected = {prefix.lower(): set(_names(prefix, *spec)) for prefix, spec in _spec(protocol).items()}
    found = {split: {r.path.stem for r in read.records if r.split == split} for split in ("train", "dev", "test")}
    assert found == expected
    assert read.skip_counts() == ({"missing video": 1, "bad label": 1, "bad protocol line": 1, "unreadable video": 1}
                                  if protocol == "1" else {})
    for record in read.records:
        phone, session, user, file = record.path.stem.split("_")
        assert record.subject == user and record.path.parent.name == f"{record.split.title()}_files"
        assert record.attack_type == {"1": "live", "2": "print", "3": "print", "4": "replay", "5": "replay"}[file]
        assert record.box is None and record.is_spoof == (file != "1")
    if protocol.startswith(("2", "4")):  # unseen instruments: print 2 and replay 2 only in the test split
        details = {r.attack_detail for r in read.records if r.split == "test"}
        assert details == {"real", "print 2", "replay 2"}


def test_all_protocols_read_each_video_once_and_name_every_skip(oulu):
    read = read_oulu_npu(oulu)
    stems = [record.path.stem for record in read.records]
    assert len(stems) == len(set(stems)) == len(list(oulu.glob("*_files/*.avi"))) - 1  # all but the unreadable one
    reasons = {item.problem: item for item in read.skipped}
    assert "Protocol_1/Test.txt line" in reasons["missing video"].what
    assert "contradicts file number 2" in reasons["bad label"].reason
    assert reasons["unreadable video"].what.endswith("3_3_37_4.avi")
    assert set(protocol_lists(oulu)) == set(PROTOCOLS)


class StubDetector:
    """A face filling the frame, except in black frames."""

    def detect(self, image: np.ndarray) -> list[Face]:
        return [] if image.max() < 10 else [Face((4.0, 4.0, SIDE - 8.0, SIDE - 8.0), np.zeros((5, 2)), 0.9)]


def _brightness(images, boxes) -> np.ndarray:
    return np.array([image.mean() / 255 for image in images])


@pytest.fixture(scope="module")
def protocol_run(oulu, tmp_path_factory):
    out = tmp_path_factory.mktemp("oulu_report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation, "load_classifier", lambda spec: Classifier("brightness", MINIVISION_V2, _brightness))
        patch.setattr(evaluation, "load_detector", lambda name: StubDetector())
        code = main(["evaluate", "--data", str(oulu), "--format", "oulu-npu", "--rule", "eer", "--every", "2",
                     "--bootstrap", "0", "--out", str(out)])
    return out, code


def test_the_per_protocol_table_papers_report(oulu, protocol_run):
    out, code = protocol_run
    assert code == 0
    document = read_report(out / "evaluation_report.json")
    model, = document["models"]
    assert model["dataset"] == "OULU-NPU (test split, per video: mean P(live) of its scored frames)"
    assert model["non_response"]["bpnrr"] > 0 and model["non_response"]["reasons"] == {"no face found": 1}
    rows = pd.DataFrame(document["protocols"]["rows"])
    assert rows["protocol"].tolist() == list(PROTOCOLS)
    for row in rows.itertuples():  # each protocol: its dev videos choose the threshold, its test videos measure
        splits = protocol_lists(oulu)[row.protocol]
        assert (row.dev, row.test) == (len(splits["dev"]), len(splits["test"]) - 4 * (row.protocol == "1"))
        assert row.acer == pytest.approx((row.apcer + row.bpcer) / 2)
    summary = {row["protocol"]: row for row in document["protocols"]["summary"]}
    assert [(p, summary[p]["n"]) for p in summary] == [("1", 1), ("2", 1), ("3", 6), ("4", 6)]
    for family in ("3", "4"):
        acer = rows.loc[rows["protocol"].str.startswith(family), "acer"]
        assert summary[family]["acer_mean"] == pytest.approx(acer.mean())
        assert summary[family]["acer_std"] == pytest.approx(np.std(acer, ddof=1))
        assert " ± " in summary[family]["acer"]
    assert summary["1"]["acer_std"] is None and summary["1"]["acer_mean"] == rows["acer"].iloc[0]
    page = (out / "evaluation_report.html").read_text(encoding="utf-8")
    assert "<h2>Protocols</h2>" in page and summary["4"]["acer"] in page


def test_scores_are_per_frame_and_the_report_from_them_is_the_same(oulu, protocol_run, tmp_path):
    out, _ = protocol_run
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    assert set(scores["frame"]) == {0, 2} and set(scores["split"]) == {"dev", "test"}  # every 2nd of 3 frames
    assert (scores.loc[scores["path"].str.contains(SILENT), "non_response"] == "no face found").all()
    again = tmp_path / "again"
    assert main(["report", "--scores", str(out / "scores.csv"), "--rule", "eer", "--bootstrap", "0",
                 "--protocols", str(oulu), "--out", str(again)]) == 0
    first, second = (read_report(folder / "evaluation_report.json") for folder in (out, again))
    assert second["models"] == first["models"] and second["protocols"] == first["protocols"]


def test_a_protocol_file_naming_a_missing_video_is_a_listed_skip(oulu, tmp_path):
    read = read_oulu_npu(oulu, "1")
    missing, = (item for item in read.skipped if item.problem == "missing video")
    assert missing.reason.startswith("Protocols/Protocol_1/Test.txt line 21 names 3_3_36_2, but ")
    assert cv2.VideoCapture(str(oulu / "Test_files" / "1_3_36_1.avi")).isOpened()

"""The pipeline as a user meets it: files in, records, drawings, JSON and CSV out; bad files named, never dropped."""

import csv
import dataclasses
import json

import cv2
import numpy as np
import pytest

from fasutils.cli import main
from fasutils.core import assets
from fasutils.core.errors import DetectionError, InputFileError, ModelError
from fasutils.core.images import ImageReadError, read_image
from fasutils.data.faces import Face
from fasutils.data.input_convention import JOHNRAIVENOLAZO
from fasutils.detection.drawing import (
    FACE_RGB,
    LIVE_RGB,
    SPOOF_RGB,
    draw_faces,
    draw_records,
)
from fasutils.detection.pipeline import Pipeline
from fasutils.detection.results import CSV_COLUMNS, FaceRecord
from fasutils.export.classifiers import Classifier
from fasutils.models import published as pm

LANDMARKS = np.array([[40, 40], [60, 40], [50, 50], [42, 60], [58, 60]], np.float32)
LIVE_SAMPLE = "minivision/sample-live-T1"


class StubDetector:
    """A 50-px face and a 10-px face in every image that is not flat; none in a flat one."""

    def detect(self, image_rgb):
        if image_rgb.std() == 0:
            return []
        return [Face((25.0, 25.0, 50.0, 50.0), LANDMARKS, 0.9), Face((80.0, 5.0, 10.0, 10.0), LANDMARKS, 0.6)]


def stub_model(name="stub", p_live=0.88):
    """A classifier answering ``p_live`` for every face."""
    return Classifier(name, JOHNRAIVENOLAZO, lambda images, boxes: np.full(len(images), p_live))


def stub_pipeline(**settings):
    return Pipeline(StubDetector(), [stub_model()], "stub", progress=False, **settings)


def write_picture(path, flat=False):
    """A 100 x 120 PNG: noise, or flat grey."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((100, 120, 3), 128, np.uint8) if flat else np.random.default_rng(0).integers(0, 255, (100, 120, 3))
    cv2.imwrite(str(path), image.astype(np.uint8))
    return path


def test_records_per_face_and_model_with_decision_at_the_threshold_and_min_face(tmp_path):
    pipeline = Pipeline(StubDetector(), [stub_model("a", 0.88), stub_model("b", 0.12)], "stub", threshold=0.5,
                        min_face=20, progress=False)
    records = pipeline.predict_image(read_image(write_picture(tmp_path / "one.png")), "one.png")
    assert [(r.face, r.model, r.decision) for r in records] == [(0, "a", "live"), (0, "b", "spoof")]  # 10 px dropped
    assert records[0].p_live == 0.88 and records[1].p_live == 0.12 and records[0].frame is None
    assert records[0].box == (25.0, 25.0, 50.0, 50.0) and records[0].landmarks[2] == (50.0, 50.0)
    image = read_image(tmp_path / "one.png")
    assert [r.decision for r in stub_pipeline(threshold=0.9).predict_image(image)] == ["spoof", "spoof"]


def test_each_model_is_decided_at_its_own_threshold_unless_one_is_given(tmp_path):
    image = read_image(write_picture(tmp_path / "one.png"))
    models = [dataclasses.replace(stub_model("strict", 0.88), threshold=0.9), stub_model("default", 0.88)]
    own = Pipeline(StubDetector(), models, "stub", progress=False).predict_image(image)
    assert [(r.model, r.decision) for r in own][:2] == [("strict", "spoof"), ("default", "live")]
    given = Pipeline(StubDetector(), models, "stub", threshold=0.8, progress=False).predict_image(image)
    assert [r.decision for r in given][:2] == ["live", "live"]


def test_an_image_without_faces_gives_an_empty_result_and_files(tmp_path):
    result = stub_pipeline().run(write_picture(tmp_path / "grey.png", flat=True), tmp_path / "out")
    assert result.records == [] and result.faces == 0 and result.files == [str(tmp_path / "grey.png")]
    assert json.loads(result.json_path.read_text())["records"] == []
    assert result.csv_path.read_text().splitlines() == [",".join(CSV_COLUMNS)]
    assert [p.name for p in result.drawn] == ["grey.png"] and result.drawn[0].is_file()


def test_a_text_file_named_jpg_or_mp4_is_refused_naming_it(tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("not a picture")
    with pytest.raises(ImageReadError, match="holiday.jpg") as caught:
        stub_pipeline().run(fake, tmp_path / "out")
    assert caught.value.problem == "corrupt"
    clip = tmp_path / "clip.mp4"
    clip.write_text("not a video")
    with pytest.raises(InputFileError, match="cannot open the video.*clip.mp4"):
        stub_pipeline().run(clip, tmp_path / "out")
    with pytest.raises(InputFileError, match="no such file or folder.*absent"):
        stub_pipeline().run(tmp_path / "absent", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_run_skips_and_counts_bad_files_and_mirrors_the_drawings(tmp_path):
    folder = tmp_path / "photos"
    write_picture(folder / "good.png")
    write_picture(folder / "nested" / "also good.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    (folder / "notes.txt").write_text("a note")
    (folder / "clip.avi").write_text("not a video")
    out = folder / "results"  # inside the folder: its files must not be read back in a second run
    stub_pipeline().run(folder, out)
    result = stub_pipeline().run(folder, out)
    assert sorted(result.files) == [str(folder / "good.png"), str(folder / "nested" / "also good.png")]
    assert sorted((s.path.rsplit("/", 1)[1], s.problem) for s in result.skipped) == [
        ("broken.jpg", "truncated"), ("clip.avi", "unreadable video"), ("notes.txt", "not an image or video")]
    summary = result.summary()
    assert "2 files analysed, 4 faces" in summary and "3 files skipped" in summary and "broken.jpg" in summary
    assert (out / "drawn" / "nested" / "also good.png").is_file() and len(result.drawn) == 2
    assert len(json.loads(result.json_path.read_text())["skipped"]) == 3


def test_json_and_csv_hold_the_same_records(tmp_path):
    result = Pipeline(StubDetector(), [stub_model("a"), stub_model("b", 1 / 3)], "stub", progress=False).run(
        write_picture(tmp_path / "pic.png"), tmp_path / "out")
    document = json.loads(result.json_path.read_text())
    from_json = [FaceRecord(**{**r, "box": tuple(r["box"]), "landmarks": tuple(map(tuple, r["landmarks"]))})
                 for r in document["records"]]
    assert from_json == result.records and len(from_json) == 4
    with open(result.csv_path, newline="") as table:
        rows = list(csv.DictReader(table))
    assert rows == [{k: "" if v is None else str(v) for k, v in r.as_row().items()} for r in from_json]
    assert document["models"] == ["a", "b"] and document["threshold"] == {"a": 0.5, "b": 0.5}


def test_drawings_colour_the_box_by_decision_and_leave_the_picture_untouched(tmp_path):
    noise, black = read_image(write_picture(tmp_path / "pic.png")), np.zeros((100, 120, 3), np.uint8)
    for threshold, colour in ((0.5, LIVE_RGB), (0.9, SPOOF_RGB)):
        records = stub_pipeline(threshold=threshold).predict_image(noise)
        drawn = draw_records(black, records)
        np.testing.assert_allclose(drawn[60, 25], colour, atol=40)  # the box's left edge (antialiased)
    np.testing.assert_allclose(draw_faces(black, StubDetector().detect(noise))[60, 25], FACE_RGB, atol=40)
    assert not black.any()


def test_settings_and_names_are_checked():
    with pytest.raises(DetectionError, match="threshold"):
        stub_pipeline(threshold=1.5)
    with pytest.raises(DetectionError, match="every"):
        stub_pipeline().run(".", "out", every=0)
    with pytest.raises(ModelError, match="'minivision' is not a classifier"):
        Pipeline.load(["minivision"])
    with pytest.raises(DetectionError, match="unknown detector 'retinaface'"):
        Pipeline.load(detector="retinaface")


@pytest.mark.reference
def test_real_detector_finds_nothing_in_a_flat_image_and_the_live_face_in_the_sample(reference_dir, tmp_path):
    pipeline = Pipeline.load(["suite", "minivision V2 2.7"], progress=False)
    assert pipeline.predict_image(np.full((240, 320, 3), 90, np.uint8)) == []
    image = read_image(assets.path(LIVE_SAMPLE))
    suite, published = pipeline.predict_image(image, LIVE_SAMPLE)
    assert suite.model == "suite" and published.model == "minivision V2 2.7"
    assert published.p_live == pytest.approx(float(pm.live_probability(published.model, [image], [suite.box])[0]),
                                             abs=1e-6)
    assert published.decision == "live" and 110 < suite.box[2] < 240


@pytest.mark.reference
def test_a_video_gives_records_per_analysed_frame(reference_dir, tmp_path):
    image = cv2.imread(str(assets.path(LIVE_SAMPLE)))
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (image.shape[1], image.shape[0]))
    for shift in range(5):
        writer.write(np.roll(image, 4 * shift, axis=1))
    writer.release()
    result = Pipeline.load(progress=False).run(video, tmp_path / "out", every=2)
    assert [(r.frame, r.face) for r in result.records] == [(0, 0), (2, 0), (4, 0)]
    assert result.records[2].box[0] - result.records[0].box[0] == pytest.approx(16, abs=3)  # the face moved 16 px
    assert [str(p.relative_to(tmp_path / "out")) for p in result.drawn] == [
        f"drawn/clip.avi/frame_00000{i}.jpg" for i in (0, 2, 4)]
    assert all(p.is_file() for p in result.drawn)


@pytest.mark.reference
def test_an_exported_onnx_classifier_runs_with_its_own_convention(reference_dir, tmp_path):
    from fasutils.core.paths import shipped_model
    from fasutils.export.onnx_export import export_onnx
    from fasutils.training.checkpoints import load_for_inference

    model, convention = load_for_inference(shipped_model())
    onnx_file = export_onnx(model, tmp_path / "shipped.onnx", convention)
    pipeline = Pipeline.load(["suite", onnx_file], detector="yunet", progress=False)
    torch_record, onnx_record = pipeline.predict_image(read_image(assets.path(LIVE_SAMPLE)))
    assert onnx_record.model == "shipped.onnx" and onnx_record.detector == "yunet"
    assert onnx_record.p_live == pytest.approx(torch_record.p_live, abs=1e-4)


@pytest.mark.reference
def test_cli_predict_prints_a_summary_and_writes_the_files(reference_dir, tmp_path, capsys):
    assert main(["predict", str(assets.path(LIVE_SAMPLE)), "--out", str(tmp_path), "--model", "suite",
                 "--model", "hairymax bin 1.5", "--min-face", "40"]) == 0
    printed = capsys.readouterr().out
    assert "1 files analysed, 1 faces" in printed and "0 files skipped" in printed
    assert len(json.loads((tmp_path / "predictions.json").read_text())["records"]) == 2
    assert (tmp_path / "drawn" / "image_T1.jpg").is_file()


@pytest.mark.reference
def test_cli_predict_reports_problems_without_traceback(reference_dir, tmp_path, capsys):
    assert main(["predict", str(tmp_path / "absent.jpg"), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: no such file or folder")
    write_picture(tmp_path / "in" / "grey.png", flat=True)
    (tmp_path / "in" / "fake.jpg").write_text("text")
    assert main(["predict", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--detector", "yunet"]) == 1
    printed = capsys.readouterr().out
    assert "1 files analysed, 0 faces" in printed and "1 files skipped" in printed and "fake.jpg" in printed

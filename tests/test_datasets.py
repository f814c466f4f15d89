import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fasutils.core.errors import DataError
from fasutils.data.celeba_spoof import read_celeba_spoof
from fasutils.data.crops import JOHNRAIVENOLAZO_1_5, MINIVISION_2_7
from fasutils.data.readers import read_folder, read_manifest, write_manifest
from fasutils.data.records import ATTACK_TYPES, MANIFEST_COLUMNS, Record
from fasutils.data.torch_dataset import FaceCropDataset
from fasutils.data.videos import video_frames, write_video


def _image(path: Path, width: int = 64, height: int = 48, *, alpha: bool = False, deep: bool = False,
           grey: bool = False, seed: int = 0) -> Path:
    """A tiny noise image written by OpenCV (RGBA, 16-bit or grayscale on request)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 1 if grey else 4 if alpha else 3), dtype=np.uint8)
    if deep:
        image = image.astype(np.uint16) * 257
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image[..., 0] if grey else image)
    return path


def _broken(path: Path, kind: str) -> Path:
    """A zero-byte, corrupt (not an image) or truncated (cut short) file at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(b"this is a text file named like an image")
    else:
        whole = _image(path).read_bytes()
        path.write_bytes(whole[: len(whole) * 2 // 3])
    return path


def _by_name(records: list[Record]) -> dict[str, Record]:
    return {record.path.name: record for record in records}


# --- folder layouts ---


def test_live_and_spoof_folders_with_optional_subject_folders(tmp_path):
    _image(tmp_path / "live" / "a.jpg")
    _image(tmp_path / "live" / "alice" / "b.png")
    _image(tmp_path / "spoof" / "c.jpg")
    report = read_folder(tmp_path, source="mine")
    records = _by_name(report.records)
    assert set(records) == {"a.jpg", "b.png", "c.jpg"} and not report.skipped
    assert (records["a.jpg"].is_spoof, records["a.jpg"].attack_type, records["a.jpg"].subject) == (False, "live", None)
    assert (records["b.png"].subject, records["b.png"].split, records["b.png"].source) == ("alice", None, "mine")
    assert (records["c.jpg"].is_spoof, records["c.jpg"].attack_type) == (True, "other")
    assert records["c.jpg"].path == tmp_path / "spoof" / "c.jpg"


def test_one_folder_per_attack_type_below_split_folders(tmp_path):
    _image(tmp_path / "train" / "live" / "s1" / "1.jpg")
    _image(tmp_path / "train" / "Print" / "s1" / "2.jpg")
    _image(tmp_path / "test" / "replay" / "3.png")
    _image(tmp_path / "test" / "cut_photo" / "4.png")
    _image(tmp_path / "test" / "mask" / "5.bmp")
    records = _by_name(read_folder(tmp_path, strict=True).records)
    got = {name: (r.split, r.attack_type, r.is_spoof) for name, r in records.items()}
    assert got == {"1.jpg": ("train", "live", False), "2.jpg": ("train", "print", True),
                   "3.png": ("test", "replay", True), "4.png": ("test", "cut_photo", True),
                   "5.bmp": ("test", "mask", True)}


@pytest.fixture
def messy_tree(tmp_path) -> Path:
    """A folder dataset with three good images in awkward formats and one of every problem."""
    _image(tmp_path / "live" / "rgba.png", alpha=True)
    _image(tmp_path / "live" / "deep.png", deep=True)
    _image(tmp_path / "print" / "grey.jpg", grey=True)
    _broken(tmp_path / "print" / "empty.jpg", "empty")
    _broken(tmp_path / "print" / "corrupt.png", "corrupt")
    _broken(tmp_path / "replay" / "cut.jpg", "truncated")
    (tmp_path / "replay" / "notes.txt").write_text("hello")
    (tmp_path / "replay" / ".DS_Store").write_bytes(b"\0")
    _image(tmp_path / "deepfake" / "x.jpg")
    return tmp_path


def test_folder_reader_reports_every_bad_file_and_keeps_odd_formats(messy_tree):
    report = read_folder(messy_tree)
    assert sorted(r.path.name for r in report.records) == ["deep.png", "grey.jpg", "rgba.png"]
    assert report.skip_counts() == {"image empty": 1, "image corrupt": 1, "image truncated": 1,
                                    "not an image file": 1, "unknown folder": 1}
    reasons = {Path(item.what).name: item.reason for item in report.skipped}
    assert "truncated JPEG" in reasons["cut.jpg"] and "deepfake" in reasons
    summary = report.summary()
    assert "3 records (live 2, print 1)" in summary and "skipped: 5" in summary and "image truncated: 1" in summary


def test_folder_reader_without_image_checks_keeps_broken_files(messy_tree):
    names = {r.path.name for r in read_folder(messy_tree, check_images=False).records}
    assert {"empty.jpg", "corrupt.png", "cut.jpg"} <= names


def test_folder_reader_strict_mode_raises_naming_the_file(messy_tree):
    with pytest.raises(DataError, match="deepfake: folder is neither"):
        read_folder(messy_tree, strict=True)
    (messy_tree / "deepfake" / "x.jpg").unlink()
    (messy_tree / "deepfake").rmdir()
    with pytest.raises(DataError, match=r"print/corrupt.png: cannot decode image \(39 bytes\): corrupt"):
        read_folder(messy_tree, strict=True)


def test_folder_without_class_folders_or_missing_root_raises(tmp_path):
    _image(tmp_path / "faces" / "a.jpg")
    with pytest.raises(DataError, match="no class folders"):
        read_folder(tmp_path)
    with pytest.raises(DataError, match="not found"):
        read_folder(tmp_path / "absent")


def test_videos_are_records_and_undecodable_ones_are_listed_skips(tmp_path):
    frames = [np.full((32, 32, 3), value, np.uint8) for value in (40, 80, 120)]
    write_video(tmp_path / "live" / "clip.avi", frames)
    (tmp_path / "print").mkdir()
    writer = cv2.VideoWriter(str(tmp_path / "print" / "no_frames.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    writer.release()  # a header, no frame
    (tmp_path / "print" / "zero_bytes.mp4").write_bytes(b"")
    read = read_folder(tmp_path)
    assert [(r.path.name, r.attack_type, r.frame) for r in read.records] == [("clip.avi", "live", None)]
    assert sorted((Path(s.what).name, s.problem) for s in read.skipped) == [
        ("no_frames.avi", "unreadable video"), ("zero_bytes.mp4", "unreadable video")]
    assert [index for index, _ in video_frames(tmp_path / "live" / "clip.avi", every=2)] == [0, 2]


# --- the suite's CSV manifest ---

HEADER = ",".join(MANIFEST_COLUMNS)
GOOD_ROWS = [
    "images/a.jpg,0,live,,s1,train,lab,CC-BY,10,12,20,24,14,18,24,18,19,22,15,28,23,28",
    "images/b.jpg,1,print,A4 paper,s2,test,,,,,,,,,,,,,,,,",
]


def _manifest(folder: Path, rows: list[str], header: str = HEADER) -> Path:
    path = folder / "manifest.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_manifest_reads_labels_boxes_and_landmarks(tmp_path):
    _image(tmp_path / "images" / "a.jpg")
    _image(tmp_path / "images" / "b.jpg")
    report = read_manifest(_manifest(tmp_path, GOOD_ROWS), strict=True)
    a, b = report.records
    assert a.path == tmp_path / "images" / "a.jpg"
    assert (a.is_spoof, a.attack_type, a.subject, a.split, a.source, a.licence) == (False, "live", "s1", "train",
                                                                                   "lab", "CC-BY")
    assert a.box == (10, 12, 20, 24) and a.landmarks[0] == (14, 18) and a.landmarks[4] == (23, 28)
    assert (b.is_spoof, b.attack_type, b.attack_detail, b.source, b.box, b.landmarks) == (
        True, "print", "A4 paper", "manifest", None, None)


def test_manifest_round_trips_through_write_manifest(tmp_path):
    _image(tmp_path / "images" / "a.jpg")
    _image(tmp_path / "images" / "b.jpg")
    first = read_manifest(_manifest(tmp_path, GOOD_ROWS)).records
    copy = write_manifest(first, tmp_path / "copy.csv")
    assert read_manifest(copy, source="manifest").records == first
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(DataError, match="outside"):
        write_manifest(first, tmp_path / "elsewhere" / "nested.csv")


@pytest.mark.parametrize("row, problem", [
    ("../outside.jpg,0,live", "path outside root"),
    ("images/../../outside.jpg,0,live", "path outside root"),
    ("/etc/passwd,0,live", "path outside root"),
    ("C:\\faces\\a.jpg,0,live", "path outside root"),
    ("images/a.jpg,1,deepfake", "unknown attack type"),
    ("images/a.jpg,maybe,live", "bad label"),
    ("images/a.jpg,0,print", "bad label"),  # is_spoof 0 contradicts print
    ("images/a.jpg,0,live,,,,,,10,12,,", "bad box or landmarks"),
    ("images/a.jpg,0,live,,,,,,10,12,x,5", "bad box or landmarks"),
    ("images/a.jpg,0,live,,,,,,10,12,0,5", "bad label"),  # zero-width box
    ("images/missing.jpg,0,live", "image not found"),
    ("images/cut.jpg,0,live", "image truncated"),
])
def test_manifest_rows_that_are_refused(tmp_path, row, problem):
    _image(tmp_path / "images" / "a.jpg")
    _broken(tmp_path / "images" / "cut.jpg", "truncated")
    manifest = _manifest(tmp_path, [GOOD_ROWS[0], row])
    report = read_manifest(manifest)
    assert len(report.records) == 1 and report.skip_counts() == {problem: 1}
    assert report.skipped[0].what.endswith("line 3") or report.skipped[0].what.endswith(".jpg")
    with pytest.raises(DataError):
        read_manifest(manifest, strict=True)


def test_manifest_without_required_columns_or_file_raises(tmp_path):
    with pytest.raises(DataError, match="attack_type"):
        read_manifest(_manifest(tmp_path, ["images/a.jpg,0"], header="path,is_spoof"))
    with pytest.raises(DataError, match="not found"):
        read_manifest(tmp_path / "absent.csv")


# --- CelebA-Spoof ---


def _labels(spoof_type: int, live_spoof: int | None = None) -> list[int]:
    values = [0] * 44
    values[40] = spoof_type
    values[43] = int(spoof_type != 0) if live_spoof is None else live_spoof
    return values


def _celeba_image(root: Path, key: str, box224: str | None = "56 28 112 56 0.99", size=(448, 336)) -> str:
    """Write ``root/key`` (width x height) and its ``_BB.txt`` (in the 224 frame); return the key."""
    path = _image(root / key, *size)
    if box224 is not None:
        path.with_name(path.stem + "_BB.txt").write_text(box224 + "\n")
    return key


def _celeba_tree(root: Path, train: dict, test: dict | None) -> Path:
    metas = root / "metas" / "intra_test"
    metas.mkdir(parents=True)
    (metas / "train_label.json").write_text(json.dumps(train))
    if test is not None:
        (metas / "test_label.json").write_text(json.dumps(test))
    return root


@pytest.fixture
def celeba(tmp_path) -> Path:
    """A good tree: two train subjects, one test subject, every spoof type once."""
    root = tmp_path / "CelebA_Spoof"
    train = {_celeba_image(root, "Data/train/10001/live/000001.jpg"): _labels(0)}
    for code in range(1, 11):
        train[_celeba_image(root, f"Data/train/10002/spoof/{code:06d}.png")] = _labels(code)
    test = {_celeba_image(root, "Data/test/4930/live/494405.jpg", "10 10 50 50 0.9", (300, 200)): _labels(0)}
    return _celeba_tree(root, train, test)


def test_celeba_spoof_labels_subjects_splits_and_pixel_boxes(celeba):
    report = read_celeba_spoof(celeba, strict=True)
    assert len(report.records) == 12 and not report.skipped
    records = {(r.split, r.path.name): r for r in report.records}
    live = records["train", "000001.jpg"]
    assert (live.is_spoof, live.attack_type, live.subject, live.attack_detail) == (False, "live", "10001", "Live")
    assert live.path == celeba / "Data" / "train" / "10001" / "live" / "000001.jpg"
    assert live.box == (112, 42, 224, 84)  # 56*448/224, 28*336/224, 112*448/224, 56*336/224
    assert records["test", "494405.jpg"].box == (13, 8, 66, 44)  # int() truncates: 13.39, 8.93, 66.96, 44.64
    by_code = {int(name[:-4]): (r.attack_type, r.attack_detail)
               for (split, name), r in records.items() if r.is_spoof}
    assert by_code == {1: ("print", "Photo"), 2: ("print", "Poster"), 3: ("print", "A4"),
                       4: ("cut_photo", "Face Mask"), 5: ("cut_photo", "Upper Body Mask"),
                       6: ("cut_photo", "Region Mask"), 7: ("replay", "PC"), 8: ("replay", "Pad"),
                       9: ("replay", "Phone"), 10: ("mask", "3D Mask")}
    assert [r.split for r in read_celeba_spoof(celeba, splits=("test",)).records] == ["test"]


def test_celeba_spoof_box_is_clipped_to_the_image(tmp_path):
    root = tmp_path / "c"
    key = _celeba_image(root, "Data/test/1/live/1.jpg", "-20 200 100 60 0.5", (224, 224))
    record, = read_celeba_spoof(_celeba_tree(root, {}, {key: _labels(0)}), splits=("test",), strict=True).records
    assert record.box == (0, 200, 80, 24)


def test_celeba_spoof_without_boxes_reads_no_box_files(tmp_path):
    root = tmp_path / "c"
    key = _celeba_image(root, "Data/test/1/live/1.jpg", box224=None)
    record, = read_celeba_spoof(_celeba_tree(root, {}, {key: _labels(0)}), splits=("test",), boxes=False).records
    assert record.box is None


@pytest.fixture
def broken_celeba(tmp_path) -> Path:
    """One good train entry and one of every problem; no test label file."""
    root = tmp_path / "CelebA_Spoof"
    train = {
        _celeba_image(root, "Data/train/1/live/good.jpg"): _labels(0),
        "Data/train/1/live/dangling.jpg": _labels(0),
        _celeba_image(root, "Data/train/1/spoof/code11.jpg"): _labels(11, 1),
        _celeba_image(root, "Data/train/1/spoof/disagree.jpg"): _labels(3, 0),
        _celeba_image(root, "Data/train/1/live/foldered.jpg"): _labels(7),  # spoof label in a live folder
        _celeba_image(root, "Data/train/1/live/badbox.jpg", "61 45 eighty 102 0.9"): _labels(0),
        _celeba_image(root, "Data/train/1/live/emptybox.jpg", ""): _labels(0),
        _celeba_image(root, "Data/train/1/live/nobox.jpg", None): _labels(0),
        "Data/train/../../escape.jpg": _labels(0),
        _celeba_image(root, "Data/train/1/live/short.jpg"): [0, 1],
    }
    _broken(root / "Data/train/1/live/cut.jpg", "truncated").with_name("cut_BB.txt").write_text("1 1 9 9 1")
    train["Data/train/1/live/cut.jpg"] = _labels(0)
    return _celeba_tree(root, train, None)


def test_celeba_spoof_reports_each_problem(broken_celeba):
    report = read_celeba_spoof(broken_celeba)
    assert [r.path.name for r in report.records] == ["good.jpg"]
    assert report.skip_counts() == {"bad label": 3, "malformed box": 2, "missing label file": 1, "missing image": 1,
                                    "unknown code": 1, "missing box file": 1, "path outside root": 1,
                                    "image truncated": 1}
    reasons = "\n".join(f"{item.what}: {item.reason}" for item in report.skipped)
    assert "test_label.json" in reasons and "dangling.jpg" in reasons and "= 11" in reasons
    assert "badbox_BB.txt" in reasons and "nobox_BB.txt" in reasons


@pytest.mark.parametrize("splits, match", [(("train",), "dangling.jpg"), (("test",), "test_label.json")])
def test_celeba_spoof_strict_mode_raises(broken_celeba, splits, match):
    with pytest.raises(DataError, match=match):
        read_celeba_spoof(broken_celeba, splits=splits, strict=True)


def test_celeba_spoof_label_file_that_is_not_json(tmp_path):
    root = _celeba_tree(tmp_path / "c", {}, {})
    (root / "metas" / "intra_test" / "test_label.json").write_text("{not json")
    assert read_celeba_spoof(root).skip_counts() == {"bad label file": 1}


# --- records and the torch dataset ---


def test_record_refuses_contradictions():
    with pytest.raises(ValueError, match="vocabulary"):
        Record(Path("a.jpg"), True, "deepfake")
    with pytest.raises(ValueError, match="contradicts"):
        Record(Path("a.jpg"), False, "replay")
    with pytest.raises(ValueError, match="landmarks"):
        Record(Path("a.jpg"), False, "live", landmarks=((1, 2),) * 4)


def test_face_crop_dataset_yields_model_ready_tensors(celeba):
    records = read_celeba_spoof(celeba, splits=("train",)).records
    dataset = FaceCropDataset(records, MINIVISION_2_7)
    image, label = dataset[0]
    assert image.shape == (3, 80, 80) and image.dtype == torch.float32 and image.max() > 1  # 0-255, not /255
    assert torch.equal(image, torch.from_numpy(dataset.crop(0)).permute(2, 0, 1).float())
    assert [dataset.label(i) for i in range(len(dataset))] == [int(r.is_spoof) for r in records]
    batch, labels = next(iter(DataLoader(dataset, batch_size=4)))
    assert batch.shape == (4, 3, 80, 80) and labels.tolist() == [0, 1, 1, 1]
    wide = FaceCropDataset(records, dataclasses.replace(JOHNRAIVENOLAZO_1_5, size=(96, 64)), target="attack_type",
                           transform=lambda t: t / 255)
    image, label = wide[3]
    assert image.shape == (3, 96, 64) and image.max() <= 1
    assert ATTACK_TYPES[label] == records[3].attack_type


def test_face_crop_dataset_reads_transparent_16_bit_and_grey_images_correctly(tmp_path):
    transparent = np.zeros((40, 50, 4), np.uint8)
    transparent[..., 2] = 255  # red under alpha 0
    deep = np.full((40, 50, 3), 65280, np.uint16)  # 254 in 8 bits; a plain >> 8 would give 255
    grey = np.tile(np.arange(50, dtype=np.uint8) * 5, (40, 1))
    records = []
    for name, image in [("rgba.png", transparent), ("deep.png", deep), ("grey.png", grey)]:
        cv2.imwrite(str(tmp_path / name), image)
        records.append(Record(tmp_path / name, False, "live", box=(10, 10, 20, 20)))
    dataset = FaceCropDataset(records, MINIVISION_2_7)
    assert (dataset[0][0] == 128).all()  # the neutral background, not the hidden red, not black
    assert (dataset[1][0] == 254).all()
    grey_crop = dataset[2][0]
    assert torch.equal(grey_crop[0], grey_crop[1]) and torch.equal(grey_crop[1], grey_crop[2])


def test_face_crop_dataset_needs_face_boxes(tmp_path):
    records = [Record(tmp_path / "a.jpg", False, "live", box=(1, 1, 5, 5)), Record(tmp_path / "b.jpg", True, "print")]
    with pytest.raises(DataError, match="1 of 2 records have no face box.*b.jpg"):
        FaceCropDataset(records, MINIVISION_2_7)
    with pytest.raises(ValueError, match="target"):
        FaceCropDataset(records[:1], MINIVISION_2_7, target="subject")

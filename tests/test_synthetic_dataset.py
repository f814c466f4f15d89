"""The dataset build on a tiny, fully synthetic pool (no reference files, a few seconds)."""

import json

import cv2
import numpy as np
import pytest

from fasutils.core.errors import SimulationError
from fasutils.data.live_pool import PoolFace, SkippedSource, split_of
from fasutils.simulation import dataset as synthetic_dataset
from fasutils.simulation.dataset import DatasetSpec, build_dataset, medium_content


def _painted_face(seed: int, matted: bool = False) -> PoolFace:
    """A 'face': a skin-toned ellipse with eyes and mouth on a gradient (or, ``matted``, cut out by a matte),
    its box and landmarks, in a 4.5-face-size source crop as the builder stores them."""
    rng = np.random.default_rng(seed)
    crop = np.zeros((405, 405, 3), np.uint8)
    crop[:] = np.linspace(60, 180, 405, dtype=np.uint8)[:, None, None]
    centre, skin = (202, 202), tuple(int(v) for v in rng.integers(120, 220, 3))
    cv2.ellipse(crop, centre, (35, 45), 0, 0, 360, skin, -1)
    landmarks = np.array([[188, 190], [216, 190], [202, 206], [191, 222], [213, 222]], np.float32)
    for x, y in landmarks[[0, 1]]:
        cv2.circle(crop, (int(x), int(y)), 4, (30, 30, 30), -1)
    matte = None
    if matted:
        matte = np.zeros(crop.shape[:2], np.uint8)
        cv2.ellipse(matte, centre, (40, 50), 0, 0, 360, 255, -1)
        matte[240:, 130:275] = 255  # shoulders, to the bottom of the crop
        crop[matte == 0] = (255, 0, 255)  # magenta where the person is not: it must never show
    identity = f"painted/{seed}"
    return PoolFace(key=f"{identity}#0", source="painted", licence="CC0", identity=identity,
                    split=split_of(identity), crop=crop, box=(167.0, 157.0, 70.0, 90.0), landmarks=landmarks,
                    native_face_width=70.0, padded_fraction=0.0, matte=matte)


DETECTOR = object()  # never called: collect_faces is replaced by the tiny pool


@pytest.fixture
def tiny_pool(monkeypatch, tmp_path):
    monkeypatch.setenv("FAS_CACHE_DIR", str(tmp_path))
    faces = [_painted_face(seed, matted=seed == 2) for seed in range(3)]
    monkeypatch.setattr(synthetic_dataset, "collect_faces",
                        lambda spec, detector: (faces, [SkippedSource("painted/broken", "no face of at least 36 px")]))
    return faces


def test_every_face_gives_a_live_image_and_each_attack_in_its_own_split(tiny_pool):
    built = build_dataset(DatasetSpec(workers=1), DETECTOR)
    records = built.report.records
    assert len(records) == 3 * 4 and not built.report.skipped
    assert sorted({r.attack_type for r in records}) == ["cut_photo", "live", "print", "replay"]
    for face in tiny_pool:
        mine = [r for r in records if r.subject == face.identity]
        assert len(mine) == 4 and {r.split for r in mine} == {face.split}
    for record in records:
        image = cv2.imread(str(record.path))
        x, y, w, h = record.box
        assert image is not None and 0 <= x and x + w <= image.shape[1] and 0 <= y and y + h <= image.shape[0]
    info = built.info
    assert info["faces"] == 3 and info["images"] == 12 and info["skipped"][0]["what"] == "painted/broken"
    assert info["synthesis_images_per_second"] > 0
    params = [json.loads(line) for line in (built.folder / "params.jsonl").read_text().splitlines()]
    assert {p["path"] for p in params} == {str(r.path.relative_to(built.folder)) for r in records}
    assert all(p["medium_extent"] is None for p in params if p["kind"] == "live")
    assert sum(p["matted"] for p in params) == 4 and sum(p.get("backdrop") is not None for p in params) == 4


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_tight_share_sets_how_many_attacks_fill_the_frame(tiny_pool, share):
    built = build_dataset(DatasetSpec(workers=0, tight_share=share), DETECTOR)
    params = built.params()
    attacks = params[params["kind"] != "live"]
    assert len(attacks) == 9 and attacks["tight"].eq(bool(share)).all()
    assert (attacks["medium_extent"] == 4.5).all() if share else (attacks["medium_extent"] <= 2.5).all()


def test_a_matted_face_stands_before_a_backdrop_and_keeps_its_size_in_every_kind(tiny_pool):
    built = build_dataset(DatasetSpec(workers=0), DETECTOR)
    widths = {}
    for record in built.report.records:
        image = cv2.imread(str(record.path))
        widths.setdefault(record.attack_type, []).append(record.box[2] / image.shape[1])
        if record.subject == "painted/2" and record.attack_type == "live":
            blue, green, red = image[:20, :20].reshape(-1, 3).mean(axis=0)
            assert not (red > 180 and blue > 180 and green < 100), "the backdrop shows, not the source's magenta"
    live = np.median(widths["live"])
    for kind, values in widths.items():
        assert abs(np.median(values) / live - 1) < 0.2, (kind, values)  # the face as large in the frame as live


def test_impossible_specs_are_refused():
    with pytest.raises(SimulationError, match="tight_share"):
        DatasetSpec(tight_share=1.5)
    with pytest.raises(SimulationError, match="source_context"):
        DatasetSpec(source_context=2.0)


def test_a_finished_build_is_reused_and_an_interrupted_one_is_not(tiny_pool, monkeypatch):
    spec = DatasetSpec(workers=0, attacks=("print",))
    first = build_dataset(spec, DETECTOR)
    stamp = (first.folder / "build.json").stat().st_mtime_ns
    monkeypatch.setattr(synthetic_dataset, "collect_faces",
                        lambda spec, detector: pytest.fail("rebuilt a finished build"))
    assert (build_dataset(spec, DETECTOR).folder / "build.json").stat().st_mtime_ns == stamp
    (first.folder / "build.json").unlink()  # as if interrupted before the last step
    monkeypatch.setattr(synthetic_dataset, "collect_faces", lambda spec, detector: (tiny_pool, []))
    assert len(build_dataset(spec, DETECTOR).report.records) == 6
    assert not list(first.folder.parent.glob("*.partial"))


def test_the_same_spec_gives_the_same_images(tiny_pool, tmp_path, monkeypatch):
    spec = DatasetSpec(workers=0, attacks=("replay",))
    first = [cv2.imread(str(r.path)) for r in build_dataset(spec, DETECTOR).report.records]
    second = [cv2.imread(str(r.path)) for r in build_dataset(spec, DETECTOR, force=True).report.records]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    same_but_workers = DatasetSpec(workers=2, attacks=("replay",))
    assert DatasetSpec(seed=1).fingerprint() != spec.fingerprint() == same_but_workers.fingerprint()


def test_a_failing_image_is_reported_and_the_rest_is_kept(tiny_pool, monkeypatch):
    monkeypatch.setattr(synthetic_dataset, "_photograph", lambda *job: (_ for _ in ()).throw(RuntimeError("boom")))
    built = synthetic_dataset.build_dataset(DatasetSpec(workers=0, attacks=("print",)), DETECTOR)
    assert not built.report.records
    assert any("boom" in s["reason"] for s in built.info["skipped"])


def test_medium_content_keeps_the_face_and_moves_the_points():
    photo = np.zeros((200, 300, 3), np.uint8)
    points = np.array([[140, 90]] * 5 + [[120, 70], [160, 70], [160, 120], [120, 120]], float)
    content, moved = medium_content(photo, points, extent=2.0)
    assert content.shape[:2] == (100, 100)
    assert np.allclose(moved - points, -np.array([90, 45]))

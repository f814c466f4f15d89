import numpy as np
import pytest
from conftest import from_reference

from fasutils.core import assets
from fasutils.core.errors import DetectionError
from fasutils.core.images import read_image
from fasutils.detection.yunet import YuNet


def test_a_file_that_is_not_a_model_is_refused_by_name(tmp_path):
    bogus = tmp_path / "detector.onnx"
    bogus.write_bytes(b"not an onnx graph")
    with pytest.raises(DetectionError, match="detector.onnx"):
        YuNet(bogus)


@pytest.fixture(scope="module")
def yunet():
    return from_reference(YuNet)


@pytest.mark.reference
def test_finds_the_one_face_of_the_live_sample_with_plausible_landmarks(yunet):
    image = read_image(assets.path("minivision/sample-live-T1"))
    (face,) = yunet.detect(image)
    x, y, w, h = face.box
    assert face.score > 0.8 and 140 < w < 200 and 200 < h < 280  # measured: about 170 x 240 at (119, 113)
    right_eye, left_eye, nose, right_mouth, left_mouth = face.landmarks
    assert right_eye[0] < nose[0] < left_eye[0] and max(right_eye[1], left_eye[1]) < nose[1] < right_mouth[1]
    assert np.all((face.landmarks >= [x, y]) & (face.landmarks <= [x + w, y + h]))


@pytest.mark.reference
def test_group_photo_gives_six_faces_best_first(yunet):
    faces = yunet.detect(read_image(assets.path("yolov7face/group-test.jpg")))
    assert len(faces) == 6 and [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)


@pytest.mark.reference
def test_no_face_is_a_clear_error_and_bad_arrays_are_refused(yunet):
    with pytest.raises(DetectionError, match="grey.png"):
        yunet.detect_largest(np.full((200, 200, 3), 128, np.uint8), source="grey.png")
    with pytest.raises(DetectionError, match="RGB uint8"):
        yunet.detect(np.zeros((50, 50), np.uint8))


def test_face_points_are_the_landmarks_then_the_box_corners_clockwise():
    from fasutils.data.faces import Face, face_points

    landmarks = np.arange(10, dtype=np.float32).reshape(5, 2)
    points = Face((10, 20, 30, 40), landmarks, 0.9).points
    assert points.shape == (9, 2) and points.dtype == np.float64
    assert np.array_equal(points[:5], landmarks)
    assert points[5:].tolist() == [[10, 20], [40, 20], [40, 60], [10, 60]]
    assert np.array_equal(face_points((10, 20, 30, 40), landmarks), points)

import cv2
import numpy as np
import pytest

from fasutils.images import ImageReadError, read_image


@pytest.fixture
def png(tmp_path):
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV's order
    path = tmp_path / "blue.png"
    cv2.imwrite(str(path), bgr)
    return path


def test_reads_rgb_by_default_and_bgr_on_request(png):
    assert read_image(png).shape == (4, 6, 3)
    assert read_image(png)[0, 0].tolist() == [0, 0, 200]
    assert read_image(png, order="bgr")[0, 0].tolist() == [200, 0, 0]


@pytest.mark.parametrize("content, problem", [(None, "not found"), (b"", "empty"), (b"\xff\xd8 not a jpeg", "cannot decode")])
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "face.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError, match=problem) as raised:
        read_image(path)
    assert str(path) in str(raised.value)


def test_unknown_channel_order_is_refused(png):
    with pytest.raises(ValueError, match="order"):
        read_image(png, order="hsv")

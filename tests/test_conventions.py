import numpy as np
import pytest

from fasutils.core.errors import DataError
from fasutils.data.crops import HAIRYMAX_1_5
from fasutils.data.input_convention import (
    HAIRYMAX_BINARY,
    INPUT_CONVENTIONS,
    JOHNRAIVENOLAZO,
    MINIVISION_V1SE,
    MINIVISION_V2,
    InputConvention,
    fuse_live_probability,
)


@pytest.fixture
def red_face():
    image = np.zeros((200, 200, 3), np.uint8)
    image[..., 0] = 255  # pure red, RGB
    return image, (60, 60, 80, 80)


def test_the_published_facts():
    assert MINIVISION_V2.input_size == (80, 80) and MINIVISION_V2.crop.scale == 2.7
    assert MINIVISION_V1SE.crop.scale == 4.0
    assert MINIVISION_V2.live_index == 1 and MINIVISION_V2.color_order == "bgr" and MINIVISION_V2.scale == 1.0
    for convention in (HAIRYMAX_BINARY, JOHNRAIVENOLAZO):
        assert convention.input_size == (128, 128) and convention.live_index == 0
        assert convention.color_order == "rgb" and convention.scale == pytest.approx(1 / 255)
    assert JOHNRAIVENOLAZO.crop.border == "reflect101" and HAIRYMAX_BINARY.crop.border == "constant"
    assert len(INPUT_CONVENTIONS) == 5


def test_minivision_gets_raw_bgr_and_the_others_scaled_rgb(red_face):
    image, box = red_face
    raw_bgr = MINIVISION_V2.prepare([image], [box])
    scaled_rgb = JOHNRAIVENOLAZO.prepare([image, image], [box, box])
    assert raw_bgr.shape == (1, 3, 80, 80) and raw_bgr.dtype == np.float32
    assert raw_bgr[0, :, 40, 40].tolist() == [0.0, 0.0, 255.0]  # B, G, R
    assert scaled_rgb.shape == (2, 3, 128, 128)
    assert scaled_rgb[0, :, 64, 64] == pytest.approx([1.0, 0.0, 0.0])


def test_probabilities_and_the_live_index():
    logits = np.array([[0.0, 3.0, 0.0], [5.0, 0.0, 0.0]])
    live = MINIVISION_V2.live_probability(logits)
    assert live[0] > 0.9 and live[1] < 0.01
    assert MINIVISION_V2.probabilities(logits).sum(axis=1) == pytest.approx([1.0, 1.0])
    assert HAIRYMAX_BINARY.live_probability(np.array([[2.0, -2.0]]))[0] > 0.98


def test_fusion_averages_the_live_probability_of_the_models():
    a, b = np.array([[0.0, 10.0, 0.0]]), np.array([[0.0, -10.0, 0.0]])
    assert fuse_live_probability([MINIVISION_V2, MINIVISION_V1SE], [a, b])[0] == pytest.approx(0.5, abs=1e-3)
    with pytest.raises(DataError):
        fuse_live_probability([MINIVISION_V2], [a, b])


def test_bad_inputs_name_the_tensor(red_face):
    image, box = red_face
    with pytest.raises(DataError, match="image 1 must be RGB uint8"):
        MINIVISION_V2.prepare([image, image.astype(np.float32)], [box, box])
    with pytest.raises(DataError, match="2 images but 1 face boxes"):
        MINIVISION_V2.prepare([image, image], [box])
    with pytest.raises(DataError, match=r"shape \(N, 2\)"):
        HAIRYMAX_BINARY.probabilities(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="must be 'live'"):
        InputConvention("bad", HAIRYMAX_1_5, "rgb", 1.0, ("spoof", "live"), 0)

import dataclasses

import cv2
import numpy as np
import pytest

from fasutils.core.errors import DataError
from fasutils.data.crops import (
    CONVENTIONS,
    HAIRYMAX_1_5,
    JOHNRAIVENOLAZO_1_5,
    MINIVISION_2_7,
    MINIVISION_4_0,
    CropConvention,
    crop_face,
    crop_region,
)

WIDTH, HEIGHT = 120, 100


@pytest.fixture
def coords() -> np.ndarray:
    """Pixel (y, x) holds (x, y, 7): every crop pixel says where it came from."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    return np.dstack([xs, ys, np.full_like(xs, 7)]).astype(np.uint8)


def _unresized(image: np.ndarray, box, convention: CropConvention) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The crop at its native size (output size = region size, so the resize copies) and its region."""
    x0, y0, x1, y1 = crop_region((image.shape[1], image.shape[0]), box, convention)
    native = dataclasses.replace(convention, size=(y1 - y0, x1 - x0))
    return crop_face(image, box, native), (x0, y0, x1, y1)


def test_published_conventions_are_registered_with_their_numbers():
    assert set(CONVENTIONS) == {"minivision-2.7", "minivision-4.0", "hairymax-1.5", "johnraivenolazo-1.5"}
    assert (MINIVISION_2_7.scale, MINIVISION_2_7.size, MINIVISION_2_7.box_rule) == (2.7, (80, 80), "shift_inside")
    assert (MINIVISION_4_0.scale, MINIVISION_4_0.size, MINIVISION_4_0.border) == (4.0, (80, 80), "none")
    assert (HAIRYMAX_1_5.scale, HAIRYMAX_1_5.size, HAIRYMAX_1_5.border, HAIRYMAX_1_5.pad_value) == (
        1.5, (128, 128), "constant", 0)
    assert (JOHNRAIVENOLAZO_1_5.box_rule, JOHNRAIVENOLAZO_1_5.border, JOHNRAIVENOLAZO_1_5.interpolation) == (
        "square_pad", "reflect101", "lanczos_up_area_down")
    with pytest.raises(dataclasses.FrozenInstanceError):
        MINIVISION_2_7.scale = 3.0


@pytest.mark.parametrize("changes", [{"box_rule": "stretch"}, {"border": "wrap"}, {"border": "constant"},
                                     {"scale": 0}, {"size": (0, 80)}, {"interpolation": "cubic"}])
def test_inconsistent_conventions_are_refused(changes):
    with pytest.raises(ValueError):
        dataclasses.replace(MINIVISION_2_7, **changes)


@pytest.mark.parametrize("convention, shape", [(MINIVISION_2_7, (80, 80, 3)), (MINIVISION_4_0, (80, 80, 3)),
                                               (HAIRYMAX_1_5, (128, 128, 3)), (JOHNRAIVENOLAZO_1_5, (128, 128, 3))])
def test_output_has_the_model_size_and_stays_uint8(coords, convention, shape):
    for box in [(40, 30, 20, 20), (0, 0, 15, 25), (100, 80, 20, 20), (5, 5, 110, 90)]:
        crop = crop_face(coords, box, convention)
        assert crop.shape == shape and crop.dtype == np.uint8


def test_non_square_model_size_is_height_by_width(coords):
    assert crop_face(coords, (40, 30, 20, 20), dataclasses.replace(MINIVISION_2_7, size=(80, 60))).shape == (80, 60, 3)


def test_minivision_enlarges_about_the_centre_and_includes_the_far_pixel(coords):
    # centre (50, 40), 20 * 2.7 = 54 wide: corners 23..77 and 13..67, both ends included
    crop, region = _unresized(coords, (40, 30, 20, 20), MINIVISION_2_7)
    assert region == (23, 13, 78, 68)
    assert np.array_equal(crop, coords[13:68, 23:78])


def test_minivision_keeps_the_box_aspect(coords):
    assert crop_region((WIDTH, HEIGHT), (40, 30, 20, 40), dataclasses.replace(MINIVISION_2_7, scale=2.0)) == (
        30, 10, 71, 91)  # 40 x 80 (+1 each): not square


@pytest.mark.parametrize("box, region", [((0, 0, 20, 20), (0, 0, 55, 55)),  # shifted right and down
                                         ((100, 80, 20, 20), (65, 45, 120, 100))])  # shifted left and up
def test_minivision_shifts_the_box_inside_instead_of_padding(coords, box, region):
    crop, got = _unresized(coords, box, MINIVISION_2_7)
    assert got == region
    assert np.array_equal(crop, coords[region[1]:region[3], region[0]:region[2]])
    assert (crop[..., 2] == 7).all()  # no padded pixel anywhere


def test_minivision_lowers_the_scale_when_the_box_cannot_fit(coords):
    # scale 4 would need 240 px; min((100-1)/60, (120-1)/60, 4) = 1.65 gives 99 px, shifted to start at 0
    assert crop_region((WIDTH, HEIGHT), (10, 10, 60, 60), MINIVISION_4_0) == (0, 0, 100, 100)


def test_square_crop_is_centred_with_side_scale_times_the_longer_edge(coords):
    # side 1.5 * 30 = 45, centre (50, 45): corner int(27.5), int(22.5)
    for convention in (HAIRYMAX_1_5, JOHNRAIVENOLAZO_1_5):
        crop, region = _unresized(coords, (40, 30, 20, 30), convention)
        assert region == (27, 22, 72, 67)
        assert np.array_equal(crop, coords[22:67, 27:72])


def test_square_corner_is_truncated_toward_zero_as_published():
    # side 1.5 * 21 = 31.5, centre 10.5: corner int(-5.25) = -5 (floor would give -6)
    assert crop_region((WIDTH, HEIGHT), (0, 0, 21, 21), HAIRYMAX_1_5) == (-5, -5, 26, 26)


def test_hairymax_pads_outside_the_image_with_black(coords):
    crop, region = _unresized(coords, (0, 0, 20, 20), HAIRYMAX_1_5)  # side 30 from (-5, -5)
    assert region == (-5, -5, 25, 25)
    assert (crop[:5] == 0).all() and (crop[:, :5] == 0).all()
    assert np.array_equal(crop[5:, 5:], coords[0:25, 0:25])


def test_johnraivenolazo_mirrors_outside_the_image(coords):
    crop, _ = _unresized(coords, (100, 80, 20, 20), JOHNRAIVENOLAZO_1_5)  # side 30 from (95, 75) to (125, 105)
    assert np.array_equal(crop[:25, :25], coords[75:100, 95:120])
    # reflect-101 repeats no edge pixel: the column after x = 119 is x = 118, then 117 ...
    assert crop[0, 25:, 0].tolist() == [118, 117, 116, 115, 114]
    assert crop[25:, 0, 1].tolist() == [98, 97, 96, 95, 94]


def test_interpolation_follows_each_family(coords):
    box = (40, 30, 20, 20)  # 30-pixel square: enlarged to 128, shrunk to 16
    region = coords[25:55, 35:65]
    assert crop_region((WIDTH, HEIGHT), box, HAIRYMAX_1_5) == (35, 25, 65, 55)
    assert np.array_equal(crop_face(coords, box, HAIRYMAX_1_5),
                          cv2.resize(region, (128, 128), interpolation=cv2.INTER_LINEAR))
    assert np.array_equal(crop_face(coords, box, JOHNRAIVENOLAZO_1_5),
                          cv2.resize(region, (128, 128), interpolation=cv2.INTER_LANCZOS4))
    small = dataclasses.replace(JOHNRAIVENOLAZO_1_5, size=(16, 16))
    assert np.array_equal(crop_face(coords, box, small), cv2.resize(region, (16, 16), interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize("box, message", [((10, 10, 0, 20), "degenerate"), ((10, 10, 20, -5), "degenerate"),
                                          ((float("nan"), 10, 20, 20), "non-finite"),
                                          ((10, 10, 20), "four numbers"), (("a", 1, 2, 3), "four numbers"),
                                          ((130, 10, 20, 20), "outside"), ((-40, 10, 20, 20), "outside")])
def test_degenerate_boxes_raise_a_crop_error(coords, box, message):
    for convention in CONVENTIONS.values():
        with pytest.raises(DataError, match=message):
            crop_face(coords, box, convention)


def test_a_square_that_misses_the_image_raises():
    small = dataclasses.replace(HAIRYMAX_1_5, scale=0.1)  # box overlaps the image, its 2-px square does not
    with pytest.raises(DataError, match="misses"):
        crop_face(np.zeros((100, 120, 3), np.uint8), (115, 10, 20, 20), small)


def test_non_image_input_is_refused(coords):
    with pytest.raises(ValueError, match="uint8"):
        crop_face(coords.astype(np.float32), (40, 30, 20, 20), MINIVISION_2_7)
    with pytest.raises(ValueError, match="uint8"):
        crop_face(coords[..., 0], (40, 30, 20, 20), MINIVISION_2_7)

import math

import cv2
import numpy as np
import pytest

from fasutils.core.errors import FasError, SpectralError
from fasutils.spectral import fourier as ft


def dft_matrix(n):
    k = np.arange(n)
    return np.exp(-2j * np.pi * np.outer(k, k) / n)


def face_like(shape, seed=0):
    """A smooth uint8 image with a 1/f-like spectrum: blurred noise on a brightness ramp."""
    noise = cv2.GaussianBlur(np.random.default_rng(seed).standard_normal(shape), (0, 0), 3)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    return np.clip(120 + 400 * noise + 0.5 * cols + 0.3 * rows, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("input_hw, target_hw", [((80, 80), (10, 10)), ((128, 128), (16, 16)), ((80, 60), (10, 8)),
                                                 ((60, 80), (8, 10)), ((112, 112), (14, 14))])
def test_target_size_is_twice_the_conv6_kernel_and_the_target_has_it(input_hw, target_hw):
    assert ft.fourier_target_size(input_hw) == target_hw
    image = np.dstack([face_like(input_hw)] * 3)
    for function in (ft.fourier_target, ft.fourier_target_area):
        target = function(image, ft.fourier_target_size(input_hw))
        assert target.shape == target_hw and target.dtype == np.float32


def test_a_constant_image_by_hand():
    # 8x8 of ones: F is 64 at DC and 0 elsewhere, so the map is 1 at (4, 4) and a = 1 / (log 65 + 1) elsewhere.
    a = 1 / (math.log(65) + 1)
    full = ft.full_fourier_map(np.ones((8, 8), np.uint8))
    assert full[4, 4] == pytest.approx(1.0)
    assert np.delete(full.ravel(), 4 * 8 + 4) == pytest.approx(np.full(63, a))
    # INTER_LINEAR to 2x2 reads rows/columns 1-2 and 5-6 only: the DC peak at (4, 4) is never sampled.
    assert ft.fourier_target(np.ones((8, 8), np.uint8), (2, 2)) == pytest.approx(np.full((2, 2), a), rel=1e-6)
    # INTER_AREA averages 4x4 blocks: the block holding DC is (1 + 15 a) / 16.
    area = ft.fourier_target_area(np.ones((8, 8), np.uint8), (2, 2))
    assert area == pytest.approx(np.array([[a, a], [a, (1 + 15 * a) / 16]]), rel=1e-6)


def test_matches_an_independent_dft_on_a_small_rectangular_image():
    gray = np.random.default_rng(3).integers(0, 256, (6, 8)).astype(np.uint8)
    spectrum = dft_matrix(6) @ gray.astype(complex) @ dft_matrix(8)  # 2-D DFT without np.fft
    spectrum = np.roll(spectrum, (3, 4), axis=(0, 1))  # DC to the centre
    magnitude = np.log(np.abs(spectrum) + 1)
    expected = (magnitude - magnitude.min() + 1) / (magnitude.max() - magnitude.min() + 1)
    np.testing.assert_allclose(ft.full_fourier_map(gray), expected, rtol=1e-9)
    # Halving each side with INTER_LINEAR averages each 2x2 block.
    halved = expected.reshape(3, 2, 4, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(ft.fourier_target(gray, (3, 4)), halved, rtol=1e-6)


def test_published_decimation_misses_the_dc_peak():
    image = face_like((80, 80), seed=5)
    full = ft.full_fourier_map(image)
    assert np.unravel_index(int(np.argmax(full)), full.shape) == (40, 40) and full.max() == 1.0
    assert 0.05 < full.min() < 0.12  # min maps to 1 / (range + 1)
    target = ft.fourier_target(image, (10, 10))
    assert 0.0 < target.min() and target.max() < 0.85  # far below the DC value of 1.0
    # Each cell interpolates the samples nearest (8 i + 3.5, 8 j + 3.5): cell (5, 5) is rows/columns 43-44.
    assert target[5, 5] == pytest.approx(full[43:45, 43:45].mean(), rel=1e-6)
    area = ft.fourier_target_area(image, (10, 10))
    assert area[5, 5] == pytest.approx(full[40:48, 40:48].mean(), rel=1e-6)  # the block holding DC
    assert 0.0 < area.min() and area.max() <= 1.0


def test_gray_conversions_follow_the_channel_order():
    rgb = np.random.default_rng(4).random((16, 16, 3)).astype(np.float32) * 255
    red, green, blue = (rgb[..., c].astype(np.float64) for c in range(3))
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    swapped = 0.114 * red + 0.587 * green + 0.299 * blue  # COLOR_BGR2GRAY applied to RGB data
    np.testing.assert_allclose(ft.full_fourier_map(rgb), ft.full_fourier_map(luma), rtol=1e-5)
    np.testing.assert_allclose(ft.full_fourier_map(rgb[..., ::-1].copy(), color="bgr"), ft.full_fourier_map(luma),
                               rtol=1e-5)
    published = ft.fourier_target(rgb, (8, 8), gray="bgr2gray")
    np.testing.assert_allclose(published, ft.fourier_target(swapped, (8, 8)), rtol=1e-5)
    assert np.abs(published - ft.fourier_target(rgb, (8, 8))).max() > 1e-3


@pytest.mark.parametrize("image, kwargs, message", [
    (np.zeros((8, 8), np.int64), {}, "uint8 or float"),
    ([[0, 1], [2, 3]], {}, "uint8 or float"),
    (np.zeros((8, 8, 4), np.uint8), {}, "shape"),
    (np.zeros((1, 8), np.uint8), {}, "shape"),
    (np.full((8, 8), np.inf, np.float32), {}, "NaN or infinite"),
    (np.zeros((8, 8, 3), np.uint8), {"color": "hsv"}, "color"),
    (np.zeros((8, 8, 3), np.uint8), {"gray": "mean"}, "gray"),
    (np.zeros((8, 8, 3), np.uint8), {"size": (10,)}, "size"),
    (np.zeros((8, 8, 3), np.uint8), {"size": (0, 10)}, "size"),
    (np.zeros((8, 8, 3), np.uint8), {"size": (10.0, 10)}, "size"),
])
def test_bad_inputs_are_refused_with_a_fix(image, kwargs, message):
    for function in (ft.fourier_target, ft.fourier_target_area):
        with pytest.raises(SpectralError, match=message):
            function(image, **kwargs)
    with pytest.raises(FasError, match="input_hw"):
        ft.fourier_target_size((80, -1))

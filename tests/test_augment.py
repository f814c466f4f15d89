"""Augmentations keep shape and dtype, follow their generator, and do nothing at zero strength."""

from __future__ import annotations

import numpy as np
import pytest

from fasutils.core.errors import DataError
from fasutils.data.augment import (
    AugmentConfig,
    augment,
    color_jitter,
    horizontal_flip,
    random_resized_crop,
    random_rotation,
)

OPS = (random_resized_crop, color_jitter, random_rotation, horizontal_flip, augment)


@pytest.fixture
def image() -> np.ndarray:
    """A non-square uint8 RGB crop with structure in every channel."""
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)


@pytest.mark.parametrize("op", OPS)
def test_shape_dtype_and_seed(op, image):
    first = op(image, np.random.default_rng(7))
    assert first.shape == image.shape and first.dtype == np.uint8
    assert np.array_equal(first, op(image, np.random.default_rng(7)))


def test_different_seeds_differ(image):
    assert not np.array_equal(augment(image, np.random.default_rng(0)), augment(image, np.random.default_rng(1)))


def test_zero_strength_is_identity(image):
    rng = np.random.default_rng(0)
    assert np.array_equal(random_resized_crop(image, rng, (1.0, 1.0), (80 / 60, 80 / 60)), image)
    assert np.array_equal(color_jitter(image, rng, 0, 0, 0, 0), image)
    assert np.array_equal(random_rotation(image, rng, 0), image)
    assert horizontal_flip(image, rng, 0.0) is image
    assert np.array_equal(horizontal_flip(image, rng, 1.0), image[:, ::-1])


def test_jitter_moves_colours_within_range():
    flat = np.full((20, 20, 3), (200, 60, 30), np.uint8)
    outs = [color_jitter(flat, np.random.default_rng(seed)) for seed in range(20)]
    means = np.array([out.reshape(-1, 3).mean(0) for out in outs])
    assert means.std(0).min() > 1  # every channel moves across seeds
    assert all(len(np.unique(out.reshape(-1, 3), axis=0)) == 1 for out in outs)  # a flat patch stays flat


def test_rotation_blackens_corners_only_when_rotating():
    white = np.full((40, 40, 3), 255, np.uint8)
    rotated = random_rotation(white, np.random.default_rng(0), 10)
    assert rotated[20, 20].tolist() == [255, 255, 255]
    assert rotated[0, 0].max() < 255 or rotated[0, -1].max() < 255


def test_config_strengths_are_used(image):
    still = AugmentConfig(scale=(1.0, 1.0), ratio=(80 / 60, 80 / 60), brightness=0, contrast=0, saturation=0,
                          hue=0, rotation=0, flip_p=0)
    assert np.array_equal(augment(image, np.random.default_rng(0), still), image)


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32), [[0, 0, 0]]])
def test_bad_input_is_refused(bad):
    with pytest.raises(DataError, match="uint8 RGB"):
        augment(bad, np.random.default_rng(0))

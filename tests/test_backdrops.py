"""Placing a matted person before a scene or a wall."""

import numpy as np
import pytest

from fasutils.core.errors import SimulationError
from fasutils.simulation.backdrops import place_in_scene
from fasutils.simulation.configs import BackdropConfig

STEADY = BackdropConfig(illumination=(1, 1), colour_cast=(0, 0), blur_px=(0.5, 0.5))


def _person():
    photo = np.full((120, 100, 3), (200, 150, 120), np.uint8)
    matte = np.zeros((120, 100), np.uint8)
    matte[30:, 30:70] = 255
    return photo, matte


def test_the_person_is_kept_and_the_scene_shows_around_it():
    photo, matte = _person()
    scene = np.zeros((200, 300, 3), np.uint8)
    scene[..., 2] = 180  # a blue room
    image, params = place_in_scene(photo, matte, scene, np.random.default_rng(0),
                                   BackdropConfig(**{**STEADY.__dict__, "plain_share": 0.0}))
    assert image.shape == photo.shape and params["backdrop"] == "scene"
    assert np.abs(image[80, 50].astype(int) - (200, 150, 120)).max() <= 2
    assert np.abs(image[10, 10].astype(int) - (0, 0, 180)).max() <= 2


def test_a_plain_wall_replaces_the_scene_at_its_share_and_the_result_is_deterministic():
    photo, matte = _person()
    scene = np.zeros((200, 300, 3), np.uint8)
    walls = [place_in_scene(photo, matte, scene, np.random.default_rng(seed), STEADY)[1]["backdrop"]
             for seed in range(200)]
    assert 0.1 < walls.count("wall") / len(walls) < 0.3  # plain_share 0.2
    first = place_in_scene(photo, matte, scene, np.random.default_rng(3), STEADY)[0]
    assert np.array_equal(first, place_in_scene(photo, matte, scene, np.random.default_rng(3), STEADY)[0])


def test_a_matte_of_another_size_is_refused():
    photo, matte = _person()
    with pytest.raises(SimulationError, match="matte"):
        place_in_scene(photo, matte[1:], np.zeros((50, 50, 3), np.uint8), np.random.default_rng(0))

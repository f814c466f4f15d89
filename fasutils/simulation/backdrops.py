"""A matted person placed before a backdrop: a scene of the kind attacks are held in, or a plain wall.

Studio headshots come with an alpha matte (the NBA Summer League PNGs of the live pool). Shown as they are, every
such live face stands on uniform grey while every attack is held in a room, and a classifier can tell live from
attack without looking at the face. :func:`place_in_scene` composites the person, in linear light, over a
defocused crop of a scene or over a plain wall, relit with a share of the backdrop's colour, so live captures and
the photos an attacker shows share one distribution of backgrounds. Alpha compositing as in Porter & Duff,
"Compositing digital images", SIGGRAPH 1984.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from fasutils.core.errors import SimulationError
from fasutils.simulation.camera import linear_to_srgb, srgb_to_linear
from fasutils.simulation.configs import BackdropConfig, sample_range


def _scene_crop(scene: np.ndarray, size: tuple[int, int], rng: np.random.Generator, zoom: float) -> np.ndarray:
    """A random crop of ``scene`` with the aspect of ``size`` (width, height), ``1 / zoom`` of its extent, resized."""
    width, height = size
    scene_h, scene_w = scene.shape[:2]
    crop_w = min(scene_w, scene_h * width / height) / zoom
    crop_h = crop_w * height / width
    x0, y0 = int(rng.uniform(0, scene_w - crop_w + 1e-9)), int(rng.uniform(0, scene_h - crop_h + 1e-9))
    crop = scene[y0:y0 + max(1, round(crop_h)), x0:x0 + max(1, round(crop_w))]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    shrinking = crop.shape[1] > width
    return cv2.resize(np.ascontiguousarray(crop), size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _wall(size: tuple[int, int], rng: np.random.Generator, config: BackdropConfig) -> np.ndarray:
    """A plain wall: one low-saturation colour with a linear brightness gradient (sRGB uint8)."""
    width, height = size
    value, saturation = sample_range(rng, config.wall_value), sample_range(rng, config.wall_saturation)
    colour = np.array(colorsys.hsv_to_rgb(float(rng.uniform(0, 1)), saturation, value), np.float32)
    angle, strength = float(rng.uniform(0, 2 * np.pi)), sample_range(rng, config.wall_gradient)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = ((xs / width - 0.5) * np.cos(angle) + (ys / height - 0.5) * np.sin(angle)) * strength
    return (np.clip(colour * (1 + ramp[..., None]), 0, 1) * 255).round().astype(np.uint8)


def place_in_scene(photo: np.ndarray, matte: np.ndarray, scene: np.ndarray, rng: np.random.Generator,
                   config: BackdropConfig | None = None) -> tuple[np.ndarray, dict]:
    """The person of ``photo`` (uint8 RGB) cut out by ``matte`` (uint8, 255 = person) and placed before ``scene``.

    With probability ``config.plain_share`` a plain wall replaces the scene. Returns (uint8 RGB of ``photo``'s
    size, the sampled parameters).
    """
    if matte.shape != photo.shape[:2]:
        raise SimulationError(f"the matte ({matte.shape}) must have the photo's size ({photo.shape[:2]})")
    config = BackdropConfig() if config is None else config
    height, width = matte.shape
    plain = bool(rng.random() < config.plain_share)
    zoom = sample_range(rng, config.scene_zoom)
    backdrop = _wall((width, height), rng, config) if plain else _scene_crop(scene, (width, height), rng, zoom)
    blur = sample_range(rng, config.blur_px)
    behind = cv2.GaussianBlur(srgb_to_linear(backdrop), (0, 0), blur)
    mean = behind.reshape(-1, 3).mean(axis=0) + 1e-4
    cast_strength = sample_range(rng, config.colour_cast)
    cast = (mean / mean.mean()) ** cast_strength
    illumination = sample_range(rng, config.illumination)
    person = srgb_to_linear(photo) * (illumination * cast).astype(np.float32)
    alpha = cv2.GaussianBlur(matte.astype(np.float32) / 255, (0, 0), 0.7)[..., None]
    linear = person * alpha + behind * (1 - alpha)
    image = (linear_to_srgb(linear) * 255).round().astype(np.uint8)
    params = {"backdrop": "wall" if plain else "scene", "backdrop_zoom": None if plain else zoom,
              "backdrop_blur_px": blur, "backdrop_illumination": illumination, "backdrop_colour_cast": cast_strength}
    return image, params

"""Training augmentations for face crops, in NumPy and OpenCV (no torchvision), seeded by a NumPy generator.

The published trainers (minivision-ai/Silent-Face-Anti-Spoofing ``src/data_io/dataset_loader.py``
``get_train_loader``, reused by hairymax/Face-AntiSpoofing ``src/dataset_loader.py``) apply torchvision's
RandomResizedCrop (scale 0.9-1.1, ratio 3/4-4/3), ColorJitter (brightness, contrast, saturation 0.4, hue 0.1),
RandomRotation (±10°) and a horizontal flip, in this order (johnraivenolazo/face-antispoof-onnx
``src/minifasv2/data.py`` rotates by up to ±90° with mirrored borders instead). :func:`augment` does the same on
a uint8 RGB crop ``(H, W, 3)`` and returns the same size and dtype. Differences from torchvision: a sampled crop
larger than the image is clipped to it (instead of torchvision's ten retries and centre-crop fallback), and
rotation interpolates bilinearly (torchvision's default is nearest); the corners it uncovers are black, as in
torchvision. Every random draw comes from the ``numpy.random.Generator`` passed in, so the same seed gives the
same image.

Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fasutils.core.errors import DataError


@dataclass(frozen=True)
class AugmentConfig:
    """The published augmentation strengths (minivision's, which hairymax reuses)."""

    scale: tuple[float, float] = (0.9, 1.1)  # crop area as a fraction of the image area
    ratio: tuple[float, float] = (3 / 4, 4 / 3)  # crop aspect (width / height), sampled log-uniformly
    brightness: float = 0.4  # factor in [1 - b, 1 + b]
    contrast: float = 0.4  # factor in [1 - c, 1 + c], blending with the mean grey level
    saturation: float = 0.4  # factor in [1 - s, 1 + s], blending with the grey image
    hue: float = 0.1  # shift in [-h, h] of the full hue circle
    rotation: float = 10.0  # degrees, either way
    flip_p: float = 0.5  # probability of a horizontal flip


def _check(image: np.ndarray) -> np.ndarray:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
        kind = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise DataError(f"augmentations take a uint8 RGB crop (H, W, 3), not {kind}")
    return image


def random_resized_crop(image: np.ndarray, rng: np.random.Generator, scale: tuple[float, float] = (0.9, 1.1),
                        ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> np.ndarray:
    """Cut a random region of ``scale`` x the image area and aspect in ``ratio``, resized back to (H, W)."""
    height, width = _check(image).shape[:2]
    area = height * width * rng.uniform(*scale)
    aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
    crop_w = min(width, max(1, round(math.sqrt(area * aspect))))
    crop_h = min(height, max(1, round(math.sqrt(area / aspect))))
    x0 = int(rng.integers(0, width - crop_w + 1))
    y0 = int(rng.integers(0, height - crop_h + 1))
    region = image[y0:y0 + crop_h, x0:x0 + crop_w]  # (crop_h, crop_w, 3)
    return cv2.resize(region, (width, height), interpolation=cv2.INTER_LINEAR)


def _gray(rgb: np.ndarray) -> np.ndarray:
    """Luma of a float RGB image, (H, W, 1)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None]


def color_jitter(image: np.ndarray, rng: np.random.Generator, brightness: float = 0.4, contrast: float = 0.4,
                 saturation: float = 0.4, hue: float = 0.1) -> np.ndarray:
    """Brightness, contrast, saturation and hue changes, each with a random strength, in a random order."""
    rgb = _check(image).astype(np.float32) / 255  # (H, W, 3) in [0, 1]
    for step in rng.permutation(4):
        if step == 0 and brightness > 0:
            rgb = rgb * rng.uniform(max(0.0, 1 - brightness), 1 + brightness)
        elif step == 1 and contrast > 0:
            factor = rng.uniform(max(0.0, 1 - contrast), 1 + contrast)
            rgb = factor * rgb + (1 - factor) * float(_gray(rgb).mean())
        elif step == 2 and saturation > 0:
            factor = rng.uniform(max(0.0, 1 - saturation), 1 + saturation)
            rgb = factor * rgb + (1 - factor) * _gray(rgb)
        elif step == 3 and hue > 0:
            hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)  # float input: H in degrees [0, 360)
            hsv[..., 0] = (hsv[..., 0] + 360 * rng.uniform(-hue, hue)) % 360
            rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        rgb = np.clip(rgb, 0, 1)
    return np.rint(rgb * 255).astype(np.uint8)


def random_rotation(image: np.ndarray, rng: np.random.Generator, degrees: float = 10.0) -> np.ndarray:
    """Rotate about the centre by a random angle in [-degrees, degrees]; uncovered corners are black."""
    height, width = _check(image).shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), rng.uniform(-degrees, degrees), 1.0)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def horizontal_flip(image: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror left-right with probability ``p``."""
    _check(image)
    return np.ascontiguousarray(image[:, ::-1]) if rng.random() < p else image


def augment(image: np.ndarray, rng: np.random.Generator, config: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """The published training chain: resized crop, colour jitter, rotation, flip. uint8 (H, W, 3) in and out."""
    out = random_resized_crop(image, rng, config.scale, config.ratio)
    out = color_jitter(out, rng, config.brightness, config.contrast, config.saturation, config.hue)
    out = random_rotation(out, rng, config.rotation)
    return horizontal_flip(out, rng, config.flip_p)

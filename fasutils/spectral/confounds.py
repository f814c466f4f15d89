"""Spectral artifacts that are *not* evidence of an attack: JPEG blocks, demosaicing, generator upsampling.

Each function returns an RGB uint8 image that carries one confound, so a notebook can set its spectrum beside
the clean image's. A classifier that keys on these learns the camera or the generator, not the attack.
Introduced in ``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

import cv2
import numpy as np

from fasutils.simulation.camera import (
    bayer_mosaic,
    demosaic,
    jpeg_roundtrip,
    linear_to_srgb,
    srgb_to_linear,
)


def jpeg_blocks(image: np.ndarray, quality: int = 40) -> np.ndarray:
    """JPEG at ``quality``: its 8x8 block grid puts peaks at multiples of 1/8 cycle per pixel."""
    return jpeg_roundtrip(image, quality)[0]


def demosaiced(image: np.ndarray, method: str = "bilinear") -> np.ndarray:
    """The image seen through an RGGB colour filter array and demosaiced: false colour near Nyquist in chroma."""
    linear = srgb_to_linear(image)  # (H, W, 3) float32 in [0, 1]
    rgb = demosaic(bayer_mosaic(linear), method)
    return np.round(linear_to_srgb(np.clip(rgb, 0.0, 1.0)) * 255.0).astype(np.uint8)


def generator_upsampled(image: np.ndarray, factor: int = 2, kernel: int = 3) -> np.ndarray:
    """Halve the image, then enlarge it as a GAN generator's transposed convolution does.

    Zero insertion followed by a ``kernel`` x ``kernel`` box filter whose size is not a multiple of ``factor``
    (uneven overlap) leaves a checkerboard: peaks at 1/``factor`` cycle per pixel.
    """
    height, width = image.shape[:2]
    small = cv2.resize(image, (width // factor, height // factor), interpolation=cv2.INTER_AREA).astype(np.float32)
    sparse = np.zeros((small.shape[0] * factor, small.shape[1] * factor, 3), np.float32)
    sparse[::factor, ::factor] = small  # (H, W, 3): one input pixel every `factor` pixels, zeros between
    spread = cv2.boxFilter(sparse, -1, (kernel, kernel), normalize=False)  # 1, 2 or 4 inputs per output pixel
    return np.clip(np.round(spread * factor**2 / kernel**2), 0, 255).astype(np.uint8)  # mean brightness kept

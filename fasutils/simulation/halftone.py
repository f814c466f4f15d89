"""A photo as a printer puts it on paper: gamut compression, grey-balanced CMYK separation with grey component
replacement and dot gain, AM (clustered-dot) and FM (stochastic) halftone screens, and subtractive ink mixing.

Public so that notebooks and tests can show each step in isolation; :mod:`fasutils.simulation.attacks` renders them
on the posed sheet. Introduced in ``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import cv2
import numpy as np

from fasutils.simulation.camera import srgb_to_linear
from fasutils.simulation.scene import antialias_gain

INKS = ("C", "M", "Y", "K")
SCREEN_ANGLES_DEG = (15.0, 75.0, 0.0, 45.0)  # C, M, Y, K; counter-clockwise as seen on the page
# Reflectance factor (R, G, B) of a solid layer of each ink on white paper; black's is set per print.
INK_TRANSMITTANCE = np.array([[0.06, 0.45, 0.85], [0.80, 0.07, 0.40], [0.95, 0.85, 0.06], [1.0, 1.0, 1.0]],
                             dtype=np.float32)


@functools.cache
def _spot_quantiles() -> tuple[np.ndarray, np.ndarray]:
    phase = (np.arange(256) + 0.5) / 256 * 2 * np.pi
    spot = 0.5 - 0.25 * (np.cos(phase)[:, None] + np.cos(phase)[None, :])
    values = np.sort(spot.ravel())[::16]
    probabilities = (np.arange(values.size) + 0.5) / values.size
    return np.concatenate([[0.0], probabilities, [1.0]]), np.concatenate([[-1.0], values, [2.0]])


def coverage_to_threshold(coverage: np.ndarray) -> np.ndarray:
    """The spot-function threshold whose dots cover the fraction ``coverage`` of each screen cell."""
    probabilities, values = _spot_quantiles()
    return np.interp(coverage, probabilities, values).astype(np.float32)


def am_dots(coverage: np.ndarray, threshold: np.ndarray, u_mm: np.ndarray, v_mm: np.ndarray, period_mm: float,
            angle_deg: float, px_per_mm: float) -> np.ndarray:
    """:func:`am_screen` for float32 inputs with the spot threshold given and the screen period in mm.

    ``threshold`` is :func:`coverage_to_threshold` of ``coverage``, passed so that both can be resampled together
    onto a sheet.
    """
    period_px = period_mm * px_per_mm
    keep = antialias_gain(1.0 / period_px)
    if keep == 0.0:
        return coverage.astype(np.float32)
    k = 2 * np.pi / period_mm
    cos_k, sin_k = np.float32(k * math.cos(math.radians(angle_deg))), np.float32(k * math.sin(math.radians(angle_deg)))
    spot = 0.5 - 0.25 * (np.cos(cos_k * u_mm - sin_k * v_mm) + np.cos(sin_k * u_mm + cos_k * v_mm))
    edge = np.float32(0.25 * 2 * np.pi / period_px)  # spot change per sample across a dot edge
    ink = np.clip((threshold - spot) / edge + 0.5, 0.0, 1.0)
    return ink if keep > 0.98 else (coverage + np.float32(keep) * (ink - coverage)).astype(np.float32)


def am_screen(coverage: np.ndarray | float, u_mm: np.ndarray, v_mm: np.ndarray, lpi: float, angle_deg: float,
              px_per_mm: float) -> np.ndarray:
    """Ink area fraction of an AM clustered-dot screen (round-to-square dots) at ``lpi`` and ``angle_deg``.

    ``u_mm``, ``v_mm`` give each sample's position on the page (v downwards), ``px_per_mm`` the sample density;
    ``coverage`` in [0, 1] is the tone to print. Dot edges are anti-aliased over about one sample.
    """
    coverage = np.broadcast_to(np.asarray(coverage, dtype=np.float32), np.shape(u_mm))
    return am_dots(coverage, coverage_to_threshold(coverage), np.asarray(u_mm, np.float32),
                   np.asarray(v_mm, np.float32), 25.4 / lpi, angle_deg, px_per_mm)


def blue_noise_mask(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """A tileable dither mask with values uniform in (0, 1) and little low-frequency energy (high-passed noise)."""
    noise = rng.standard_normal((size, size)).astype(np.float32)
    pad = size // 4
    low = cv2.GaussianBlur(np.pad(noise, pad, mode="wrap"), (0, 0), 1.5)[pad:-pad, pad:-pad]
    ranks = np.argsort(np.argsort((noise - low).ravel()))
    return ((ranks + 0.5) / ranks.size).reshape(size, size).astype(np.float32)


def fm_screen(coverage: np.ndarray | float, u_mm: np.ndarray, v_mm: np.ndarray, dot_mm: float, px_per_mm: float,
              mask: np.ndarray) -> np.ndarray:
    """Ink area fraction of an FM (stochastic, inkjet-like) screen: square dots of ``dot_mm`` from a dither mask."""
    coverage = np.broadcast_to(np.asarray(coverage, dtype=np.float32), np.shape(u_mm))
    keep = antialias_gain(0.5 / (dot_mm * px_per_mm))
    if keep == 0.0:
        return coverage.astype(np.float32)
    size = mask.shape[0]
    rows = np.floor(np.asarray(v_mm) / dot_mm).astype(np.int64) % size
    cols = np.floor(np.asarray(u_mm) / dot_mm).astype(np.int64) % size
    ink = (mask[rows, cols] < coverage).astype(np.float32)
    return (coverage + np.float32(keep) * (ink - coverage)).astype(np.float32)


def ink_reflectance(inks: np.ndarray, paper_rgb: np.ndarray, black: float) -> np.ndarray:
    """Linear RGB reflectance of overlapping inks (..., 4 area fractions C, M, Y, K) on paper (subtractive).

    Demichel/Neugebauer: with inks placed independently, each channel is ``paper * prod(1 - a_i (1 - T_i))``,
    which for solid or bare ink is the product of the transmittances. ``black`` is solid K's reflectance.
    """
    inks = np.asarray(inks, np.float32)
    return ink_planes_reflectance([inks[..., i] for i in range(4)], paper_rgb, black)


def ink_planes_reflectance(planes: Sequence[np.ndarray], paper_rgb: np.ndarray, black: float) -> np.ndarray:
    """:func:`ink_reflectance` of the four float32 area-fraction planes C, M, Y, K given apart (saves stacking)."""
    absorbed = 1.0 - INK_TRANSMITTANCE.copy()
    paper = np.asarray(paper_rgb, np.float32)
    absorbed[3] = 1.0 - black / paper
    out = np.empty(planes[0].shape + (3,), np.float32)
    factor = np.empty(planes[0].shape, np.float32)
    for channel in range(3):
        channel_out = np.full(planes[0].shape, paper[channel], np.float32)
        for ink, plane in enumerate(planes):
            np.multiply(plane, absorbed[ink, channel], out=factor)
            np.subtract(np.float32(1.0), factor, out=factor)
            channel_out *= factor
        out[..., channel] = channel_out
    return out


def cmyk_separation(linear_rgb: np.ndarray, gcr: float = 0.8) -> np.ndarray:
    """Ink coverages (..., 4: C, M, Y, K in [0, 1]) for linear RGB in [0, 1], with grey component replacement."""
    cmy = 1.0 - np.clip(linear_rgb, 0.0, 1.0)
    black = gcr * cmy.min(axis=-1, keepdims=True)
    cmy = np.clip((cmy - black) / np.maximum(1.0 - black, 1e-6), 0.0, 1.0)
    return np.concatenate([cmy, black], axis=-1).astype(np.float32)


def _grey_balance(paper_rgb: np.ndarray, black: float, gcr: float, rounds: int = 6) -> np.ndarray:
    """Per-channel tone curves (257, 4: device R, G, B, input level) that print a neutral grey ramp.

    Each grey level should print ``darkest + (white - darkest) * level`` in every channel; the inks' side
    absorptions couple the channels, so the curves are refined a few rounds against the ink model.
    """
    levels = np.linspace(0.0, 1.0, 257, dtype=np.float32)
    ramp = np.repeat(levels[:, None], 3, axis=1)
    printed = ink_reflectance(cmyk_separation(ramp, gcr), paper_rgb, black)
    darkest = printed[0].max()  # the deepest black every channel reaches
    wanted = darkest + (printed[-1] - darkest) * levels[:, None]
    device = ramp.copy()
    for _ in range(rounds):
        printed = ink_reflectance(cmyk_separation(device, gcr), paper_rgb, black)
        slope = np.maximum(np.gradient(printed, levels, axis=0), 1e-3)
        device = np.clip(device + (wanted - printed) / slope, 0.0, 1.0)
        device = np.maximum.accumulate(device, axis=0)  # keep each curve monotonic
    return np.concatenate([device, levels[:, None]], axis=1)


def print_coverage(photo: np.ndarray, paper_rgb: np.ndarray, black: float, saturation: float = 0.8,
                   hue_shift_deg: float = 0.0, gcr: float = 0.8, dot_gain: float = 0.15) -> np.ndarray:
    """Ink coverages (h, w, 4) a printer lays down for a uint8 RGB photo.

    Analytic gamut compression (chroma scaled by ``saturation``, hue rotated about the grey axis); per-channel
    tone curves calibrated so that greys print neutral and linear in light without dot gain (:func:`_grey_balance`);
    separation with grey component replacement; then the uncalibrated midtone dot gain ``c + 4 g c (1 - c)``.
    """
    rgb = photo.astype(np.float32) / 255.0
    angle = math.radians(hue_shift_deg)
    axis = np.full(3, 1 / math.sqrt(3))
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross
    rgb = rgb @ rotation.T.astype(np.float32)
    grey = rgb.mean(axis=-1, keepdims=True)
    linear = srgb_to_linear(grey + saturation * (rgb - grey))
    curves = _grey_balance(paper_rgb, black, gcr)
    device = np.stack([np.interp(linear[..., c], curves[:, 3], curves[:, c]) for c in range(3)], axis=-1)
    coverage = cmyk_separation(device.astype(np.float32), gcr)
    return np.clip(coverage + 4 * dot_gain * coverage * (1 - coverage), 0.0, 1.0).astype(np.float32)

"""A photo as an LCD shows it: the light of RGB vertical-stripe sub-pixels and the black matrix between them.

Public so that notebooks and tests can show it in isolation; :mod:`fasutils.simulation.attacks` adds gamma,
white point, backlight falloff, reflections and the bezel of a replay. Introduced in ``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

import cv2
import numpy as np

from fasutils.simulation.scene import antialias_gain


def display_emission(pixels: np.ndarray, u_mm: np.ndarray, v_mm: np.ndarray, pitch_mm: float, fill_factor: float,
                     px_per_mm: float, row_fill: float = 0.9) -> np.ndarray:
    """Light emitted at page positions ``u_mm``, ``v_mm`` by an RGB vertical-stripe display showing ``pixels``.

    ``pixels`` (rows, cols, 3) are the display pixels' linear intensities; pixel (0, 0) starts at u = v = 0.
    Within each pixel, channel c lights the column around ``(c + 0.5) / 3`` of width ``fill_factor / 3`` and
    ``row_fill`` of the height; the rest is black matrix. The pattern is normalized to keep each pixel's mean.
    """
    pixels = np.asarray(pixels, np.float32)
    columns, rows = (np.asarray(u_mm, np.float32) / pitch_mm, np.asarray(v_mm, np.float32) / pitch_mm)
    column_index, row_index = np.floor(columns), np.floor(rows)
    values = cv2.remap(pixels, column_index, row_index, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    pitch_px = pitch_mm * px_per_mm
    keep = antialias_gain(1.0 / pitch_px)
    if keep == 0.0:
        return values

    def lit(position: np.ndarray, centre: float, width: float) -> np.ndarray:
        return np.clip((width / 2 - np.abs(position - centre)) * np.float32(pitch_px) + 0.5, 0.0, 1.0)

    probe = (np.arange(4096, dtype=np.float32) + 0.5) / 4096
    row_mask = lit(rows - row_index, 0.5, row_fill) / lit(probe, 0.5, row_fill).mean()
    within = columns - column_index
    emission = np.empty_like(values)
    for channel in range(3):
        centre = (channel + 0.5) / 3
        stripe = lit(within, centre, fill_factor / 3) / lit(probe, centre, fill_factor / 3).mean()
        emission[..., channel] = values[..., channel] * (1 + np.float32(keep) * (stripe * row_mask - 1))
    return emission

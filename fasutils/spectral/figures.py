"""Figures for the frequency-domain lesson: spectra with their peaks, radial profiles, Fourier targets.

Every figure has titles and labelled axes in cycles per pixel. Introduced in ``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from fasutils.core.errors import SpectralError
from fasutils.spectral.spectra import (
    find_peaks,
    log_spectrum,
    luma_chroma,
    radial_profile,
)

EXTENT = (-0.5, 0.5, 0.5, -0.5)  # fftshifted axes: fx left to right, fy top to bottom, cycles/px


def spectra_figure(images: Mapping[str, np.ndarray], peaks: int = 3, min_radius: float = 0.08,
                   cell_inches: float = 2.8) -> plt.Figure:
    """One row per image: the image, then the log spectra of luma (peaks circled) and of both chroma channels."""
    figure, axes = plt.subplots(len(images), 4, figsize=(4 * cell_inches, len(images) * cell_inches),
                                squeeze=False)
    for row, (title, image) in zip(axes, images.items(), strict=True):
        row[0].imshow(image)
        row[0].set_title(title, fontsize=9)
        row[0].set_xlabel("x (px)")
        row[0].set_ylabel("y (px)")
        named = zip(("luma Y", "chroma Cb", "chroma Cr"), luma_chroma(image), strict=True)
        for axis, (name, channel) in zip(row[1:], named, strict=True):
            axis.imshow(log_spectrum(channel), extent=EXTENT, cmap="magma")
            axis.set_title(f"{name}: log |FFT|", fontsize=9)
            axis.set_xlabel("fx (cycles/px)")
            axis.set_ylabel("fy (cycles/px)")
        for peak in find_peaks(luma_chroma(image)[0], min_radius=min_radius, count=peaks):
            for sign in (1, -1):
                row[1].plot(sign * peak.fx, sign * peak.fy, "o", mfc="none", mec="cyan", ms=9)
            row[1].annotate(f"{peak.period_px:.1f} px, {peak.angle_deg:.0f}°", (peak.fx, peak.fy), color="cyan",
                            fontsize=7, xytext=(4, -4), textcoords="offset points")
    figure.tight_layout()
    return figure


def radial_figure(channels: Mapping[str, np.ndarray], title: str, bins: int | None = None) -> plt.Figure:
    """Azimuthally averaged power of each channel against radial frequency, on one log-scale plot.

    ``bins`` defaults to half the shorter side (one bin per frequency step).
    """
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, channel in channels.items():
        centres, power = radial_profile(channel, bins=bins)
        axis.semilogy(centres, power, label=name)
    axis.set_xlabel("radial frequency (cycles/px; 0.5 is Nyquist)")
    axis.set_ylabel("mean power")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    return figure


def maps_figure(maps: Sequence[np.ndarray], titles: Sequence[str], colorbar: bool = True,
                cell_inches: float = 3.0) -> plt.Figure:
    """Small 2-D maps (Fourier targets, their difference) side by side, each with its colour scale and title."""
    if len(maps) != len(titles):
        raise SpectralError(f"maps_figure needs one title per map, not {len(titles)} titles for {len(maps)} maps")
    figure, axes = plt.subplots(1, len(maps), figsize=(cell_inches * len(maps), cell_inches), squeeze=False)
    for axis, values, title in zip(axes[0], maps, titles, strict=True):
        shown = axis.imshow(values, cmap="RdBu_r" if values.min() < 0 < values.max() else "viridis")
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("fx bin")
        axis.set_ylabel("fy bin")
        if colorbar:
            figure.colorbar(shown, ax=axis, fraction=0.046)
    figure.tight_layout()
    return figure

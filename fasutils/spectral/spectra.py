"""Spectra of image channels: log spectrum, radial power profile, high-frequency ratio and spectral peaks.

The method: one channel (luma, or Cb/Cr for display moiré), minus its mean, times a 2-D Hann window, ``fftshift``,
``log1p(|F|)``. The cues are those of Li, Wang, Tan and Jain (SPIE 2004: prints hold less high-frequency energy)
and Patel, Han, Jain and Ott (ICB 2015: replay moiré, analysed per colour channel). Frequencies are in cycles per
pixel, centred like ``fftshift`` (zero at row ``H // 2``, column ``W // 2``; Nyquist is 0.5); ``fy`` grows downwards
with the image rows. Angles are counter-clockwise from the +x axis as seen on screen, the convention of
:data:`fasutils.simulation.halftone.SCREEN_ANGLES_DEG`, so a halftone screen at 45 degrees peaks at 45 degrees.

Values are in the input's units: pass channels on the 0-255 scale (as :func:`luma_chroma` returns them), where
``log1p(|F|)`` is practically ``log(|F|)`` and differences of log spectra are log ratios.

Introduced in ``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from fasutils.core.errors import SpectralError, positive_int

MIN_SIZE = 16  # px: smaller channels have too few frequency bins to say anything
WINDOWS = ("hann", "none")


@dataclass(frozen=True)
class Peak:
    """One spectral peak, reported once for its conjugate-symmetric pair (``angle_deg`` in [0, 180)).

    ``fx``, ``fy`` in cycles/px (refined to a fraction of a bin), ``radius`` their length, ``strength`` the
    log-spectrum value at the peak minus the median over the searched ring (``exp(strength)``: peak / typical).
    """

    fx: float
    fy: float
    radius: float
    angle_deg: float
    strength: float

    @property
    def period_px(self) -> float:
        """The spatial period of the pattern, pixels per cycle."""
        return 1.0 / self.radius


# ---------------------------------------------------------------------------------------------------------------
# Input checks


def check_channel(channel: np.ndarray, name: str = "channel") -> np.ndarray:
    """``channel`` as float64 (H, W) after checking it: 2-D, real numbers, finite, at least ``MIN_SIZE`` each way."""
    if not isinstance(channel, np.ndarray):
        raise SpectralError(f"{name} must be a NumPy array, not {type(channel).__name__}")
    if channel.dtype == np.bool_ or not (np.issubdtype(channel.dtype, np.integer)
                                        or np.issubdtype(channel.dtype, np.floating)):
        raise SpectralError(f"{name} must hold integers or floats, not {channel.dtype}")
    if channel.ndim != 2:
        hint = " (one channel: take luma_chroma(image)[0] for the luma)" if channel.ndim == 3 else ""
        raise SpectralError(f"{name} must be a 2-D array (H, W), not shape {channel.shape}{hint}")
    if min(channel.shape) < MIN_SIZE:
        raise SpectralError(f"{name} of shape {channel.shape} is too small: spectra need at least "
                            f"{MIN_SIZE}x{MIN_SIZE} px; use a larger crop")
    values = channel.astype(np.float64)
    if not np.isfinite(values).all():
        raise SpectralError(f"{name} holds NaN or infinite values; replace them before taking a spectrum")
    return values


def _check_radius(name: str, value: float, high: float = 0.5) -> float:
    if not isinstance(value, (int, float, np.floating, np.integer)) or not 0.0 < value < high:
        raise SpectralError(f"{name} must be a frequency in cycles/px between 0 and {high}, not {value!r}")
    return float(value)


# ---------------------------------------------------------------------------------------------------------------
# Colour and frequency grid


def luma_chroma(image_rgb_uint8: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 luma and chroma of a uint8 RGB image: (Y, Cb, Cr), float32 (H, W) each, on the 0-255 scale.

    Grey pixels have Cb = Cr = 128. Display sub-pixel moiré is usually strongest in Cb and Cr.
    """
    image = image_rgb_uint8
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        kind = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise SpectralError(f"luma_chroma needs a uint8 RGB image, not {kind}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise SpectralError(f"luma_chroma needs an RGB image of shape (H, W, 3), not {image.shape}")
    ycrcb = cv2.cvtColor(image.astype(np.float32) / np.float32(255.0), cv2.COLOR_RGB2YCrCb) * np.float32(255.0)
    ycrcb[..., 1:] += np.float32(0.5)  # float chroma is centred on 0.5 * 255; 8-bit (JPEG) chroma on 128
    return ycrcb[..., 0].copy(), ycrcb[..., 2].copy(), ycrcb[..., 1].copy()  # OpenCV's order is Y, Cr, Cb


def frequency_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(fx, fy), float64 (H, W) each, in cycles/px, centred as ``np.fft.fftshift`` leaves a spectrum of ``shape``."""
    height, width = (int(n) for n in shape)
    fy, fx = np.meshgrid(np.fft.fftshift(np.fft.fftfreq(height)), np.fft.fftshift(np.fft.fftfreq(width)),
                         indexing="ij")
    return fx, fy


def _radius(shape: tuple[int, int]) -> np.ndarray:
    fx, fy = frequency_grid(shape)
    return np.hypot(fx, fy)  # (H, W)


# ---------------------------------------------------------------------------------------------------------------
# Spectra


def _window(shape: tuple[int, int], window: str) -> np.ndarray:
    if window == "hann":
        return np.outer(np.hanning(shape[0]), np.hanning(shape[1]))
    if window == "none":
        return np.ones(shape)
    raise SpectralError(f"window must be one of {', '.join(WINDOWS)}, not {window!r}")


def _centred_fft(values: np.ndarray, window: str) -> np.ndarray:
    """The fftshifted FFT of a checked channel, mean removed and windowed: complex (H, W), DC exactly zero."""
    weights = _window(values.shape, window)
    mean = float((values * weights).sum() / weights.sum())  # the window-weighted mean, so no DC survives
    return np.fft.fftshift(np.fft.fft2((values - mean) * weights))


def log_spectrum(channel: np.ndarray, window: str = "hann") -> np.ndarray:
    """``log1p(|F|)`` of the mean-removed, windowed channel, fftshifted: float64 (H, W), DC at (H//2, W//2).

    ``window`` is "hann" (2-D Hann, which removes the bright cross that the jump between opposite image borders
    leaks along the axes) or "none". The mean removed is the window-weighted one, so the DC value is 0 and the
    display range goes to the structure, not the brightness.
    """
    return np.log1p(np.abs(_centred_fft(check_channel(channel), window)))


def _power(values: np.ndarray, window: str) -> np.ndarray:
    spectrum = _centred_fft(values, window)
    return (spectrum.real ** 2 + spectrum.imag ** 2) / spectrum.size  # (H, W)


def radial_profile(channel: np.ndarray, bins: int | None = None,
                   window: str = "hann") -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged power spectrum of an *image channel*: (bin centres in cycles/px, mean power per bin).

    Takes the channel itself (not a spectrum) and averages ``|F|**2 / (H * W)`` of its windowed FFT over rings
    from 0 to 0.5 cycles/px (the corners beyond Nyquist are left out). ``bins`` defaults to ``min(H, W) // 2``,
    about one frequency step per ring, so every ring holds samples. White noise gives a flat profile.
    """
    power = _power(check_channel(channel), window)
    count = min(power.shape) // 2 if bins is None else bins
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or not 2 <= count <= min(power.shape) // 2:
        raise SpectralError(f"bins must be an integer from 2 to {min(power.shape) // 2} (half the shorter "
                            f"side), not {bins!r}")
    radius = _radius(power.shape)
    inside = radius <= 0.5
    index = np.minimum((radius[inside] / 0.5 * count).astype(np.int64), count - 1)
    sums = np.bincount(index, weights=power[inside], minlength=count)
    totals = np.bincount(index, minlength=count)
    centres = (np.arange(count) + 0.5) * 0.5 / count
    return centres, sums / np.maximum(totals, 1)


def high_frequency_ratio(channel: np.ndarray, cutoff: float = 0.25, window: str = "hann") -> float:
    """Power at radial frequencies above ``cutoff`` cycles/px over all power except DC (0 for a flat channel).

    The default 0.25 is half the Nyquist frequency, the cue of Li et al. 2004 (prints hold proportionally less
    high-frequency energy than live faces). All frequencies count, the corners beyond 0.5 included.
    """
    cutoff = _check_radius("cutoff", cutoff)
    values = check_channel(channel)
    power = _power(values, window)
    if values.min() == values.max():
        return 0.0  # flat: no power at all (rounding would otherwise leave a meaningless ratio of residues)
    radius = _radius(power.shape)
    return float(power[radius > cutoff].sum() / power[radius > 0].sum())


def _ring(spectrum: np.ndarray, min_radius: float) -> tuple[np.ndarray, float]:
    """The mask r > ``min_radius`` and the median of ``spectrum`` over it."""
    ring = _radius(spectrum.shape) > _check_radius("min_radius", min_radius)
    return ring, float(np.median(spectrum[ring]))


def peak_score(channel: np.ndarray, min_radius: float = 0.08, window: str = "hann") -> float:
    """The "peakiness" ``exp(max - median)`` of the log spectrum over r > ``min_radius`` cycles/px.

    The strongest off-centre peak relative to the typical level there (about |F| peak / |F| median); halftone
    and display grids score high on crops large enough to resolve them (256 px or more).
    """
    spectrum = log_spectrum(channel, window)
    ring, median = _ring(spectrum, min_radius)
    return math.exp(float(spectrum[ring].max()) - median)


def _vertex(before: float, centre: float, after: float) -> float:
    """Offset (-0.5 to 0.5 samples) of the vertex of the parabola through three samples around a maximum."""
    curvature = before - 2.0 * centre + after
    return float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0


def _refine(spectrum: np.ndarray, row: int, col: int) -> tuple[float, float]:
    """Sub-bin offsets (rows, columns) of the peak at (row, col); 0 on the border of the spectrum."""
    height, width = spectrum.shape
    d_row = _vertex(*spectrum[row - 1:row + 2, col]) if 0 < row < height - 1 else 0.0
    d_col = _vertex(*spectrum[row, col - 1:col + 2]) if 0 < col < width - 1 else 0.0
    return d_row, d_col


def find_peaks(channel: np.ndarray, min_radius: float = 0.08, count: int = 8, min_separation: float = 0.02,
               window: str = "hann") -> list[Peak]:
    """The ``count`` strongest local maxima of the log spectrum beyond ``min_radius`` cycles/px, strongest first.

    Non-maximum suppression keeps peaks at least ``min_separation`` cycles/px apart (and never closer than 2.5
    frequency bins, the Hann main lobe plus a margin), measured to each kept peak and to its conjugate twin at
    ``(-fx, -fy)``: a real image's spectrum is symmetric, so each pair is reported once, as its member with
    ``angle_deg`` in [0, 180). Fewer than ``count`` peaks come back when the ring holds fewer local maxima.
    """
    positive_int(count, "count", SpectralError)
    spectrum = log_spectrum(channel, window)
    ring, median = _ring(spectrum, min_radius)
    separation = max(_check_radius("min_separation", min_separation), 2.5 / min(spectrum.shape))
    local_max = spectrum >= cv2.dilate(spectrum, np.ones((3, 3), np.uint8))  # float64 in, float64 out
    rows, cols = np.nonzero(ring & local_max)
    order = np.argsort(-spectrum[rows, cols], kind="stable")
    fx_grid, fy_grid = frequency_grid(spectrum.shape)
    height, width = spectrum.shape
    peaks: list[Peak] = []
    kept = np.empty((0, 2))
    for row, col in zip(rows[order], cols[order], strict=True):
        fx, fy = fx_grid[row, col], fy_grid[row, col]
        if kept.size and min(np.hypot(kept[:, 0] - fx, kept[:, 1] - fy).min(),
                             np.hypot(kept[:, 0] + fx, kept[:, 1] + fy).min()) < separation:
            continue
        kept = np.vstack([kept, [fx, fy]])
        d_row, d_col = _refine(spectrum, row, col)
        peaks.append(_canonical(fx + d_col / width, fy + d_row / height, float(spectrum[row, col]) - median))
        if len(peaks) == count:
            break
    return peaks


def _canonical(fx: float, fy: float, strength: float) -> Peak:
    """The member of the pair (fx, fy), (-fx, -fy) whose on-screen angle lies in [0, 180)."""
    if not 0.0 <= math.degrees(math.atan2(-fy, fx)) < 180.0:  # rows grow downwards: on screen, up is -fy
        fx, fy = -fx, -fy
    angle = math.degrees(math.atan2(-fy, fx)) % 180.0
    return Peak(float(fx), float(fy), float(math.hypot(fx, fy)), float(angle), float(strength))


def spectrum_difference(a: np.ndarray, b: np.ndarray, window: str = "hann") -> np.ndarray:
    """``log_spectrum(a) - log_spectrum(b)`` for two channels of the same shape (e.g. spoof minus live).

    Positive where ``a`` holds more energy; on the 0-255 scale a value v means about ``exp(v)`` times the magnitude.
    """
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape:
        shapes = [getattr(x, "shape", type(x).__name__) for x in (a, b)]
        raise SpectralError(f"spectrum_difference needs two arrays of the same shape, not {shapes[0]} and "
                            f"{shapes[1]}; resize or crop them alike first")
    return log_spectrum(a, window) - log_spectrum(b, window)


def mean_log_spectrum(channels: Iterable[np.ndarray] | np.ndarray, window: str = "hann") -> np.ndarray:
    """The mean of :func:`log_spectrum` over many same-shape channels (a list, or an (N, H, W) stack): (H, W).

    Averaging many crops smooths the speckle of single spectra so shared structure (a screen, JPEG's 8x8 grid)
    stands out.
    """
    total: np.ndarray | None = None
    number = 0
    for channel in channels:
        spectrum = log_spectrum(channel, window)
        if total is not None and spectrum.shape != total.shape:
            raise SpectralError(f"mean_log_spectrum needs channels of one shape; channel {number} has "
                                f"{spectrum.shape}, the first had {total.shape}")
        total = spectrum if total is None else total + spectrum
        number += 1
    if total is None:
        raise SpectralError("mean_log_spectrum needs at least one channel, got none")
    return total / number

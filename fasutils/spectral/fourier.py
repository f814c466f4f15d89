"""The Fourier (FT) supervision target of MiniFASNet's auxiliary branch, as published, and an alternative.

Source of the facts: ``generate_FT``, the same function in minivision-ai/Silent-Face-Anti-Spoofing
(``src/data_io/dataset_folder.py``), hairymax/Face-AntiSpoofing (``src/dataset_loader.py``) and
johnraivenolazo/face-antispoof-onnx (``src/minifasv2/data.py``), and the kernel rule that sets the target size,
``get_kernel`` in minivision's ``src/utility.py``. The published target is: grayscale, ``np.fft.fft2``,
``np.fft.fftshift``, ``log(|F| + 1)``, normalised as ``(f - min + 1) / (max - min + 1)`` (so the minimum maps to
about 0.08, not 0), then ``cv2.resize`` with the default INTER_LINEAR to 2 x the final depthwise kernel (10x10 for
80x80 inputs, 16x16 for 128x128). Unlike
:mod:`fasutils.spectral.spectra`, there is no mean removal and no window: the DC term is the map's maximum.

Introduced in ``01_fft_spoof_artifacts.ipynb``; notebooks 02 and 03 use it to train the Fourier branch.
"""

from __future__ import annotations

import cv2
import numpy as np

from fasutils.core.errors import SpectralError

COLORS = ("rgb", "bgr")
# "auto": the right luma for the channel order; "bgr2gray": COLOR_BGR2GRAY whatever the order, which is what
# minivision does to its BGR patches and what hairymax/johnraivenolazo do to RGB patches (R and B weights swapped).
GRAY_CONVERSIONS = ("auto", "bgr2gray", "rgb2gray")
_GRAY_CODES = {"bgr2gray": cv2.COLOR_BGR2GRAY, "rgb2gray": cv2.COLOR_RGB2GRAY}


def fourier_target_size(input_hw: tuple[int, int]) -> tuple[int, int]:
    """(h, w) of the FT target for a network input of (height, width): 2 x ``((H + 15) // 16, (W + 15) // 16)``.

    The kernel of MiniFASNet's ``conv_6_dw``, doubled; it equals the ``conv_4`` map (input / 8) the Fourier
    branch reads. 80x80 gives (10, 10), 128x128 (16, 16); minivision's "80x60" models (height 80, width 60)
    give (10, 8).
    """
    height, width = _check_hw("input_hw", input_hw)
    return 2 * ((height + 15) // 16), 2 * ((width + 15) // 16)


def _check_hw(name: str, value: tuple[int, int]) -> tuple[int, int]:
    ok = (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in value))
    if not ok:
        raise SpectralError(f"{name} must be (height, width), two positive integers, not {value!r}")
    return int(value[0]), int(value[1])


def _gray(image: np.ndarray, color: str, gray: str) -> np.ndarray:
    """The 2-D image the FFT is taken of: a 2-D input as is, a 3-channel one through OpenCV's grey conversion."""
    if not isinstance(image, np.ndarray) or image.dtype not in (np.uint8, np.float32, np.float64):
        kind = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise SpectralError(f"image must be a uint8 or float NumPy array (as read by OpenCV), not {kind}")
    if color not in COLORS:
        raise SpectralError(f"color must be one of {', '.join(COLORS)} (the channel order), not {color!r}")
    if gray not in GRAY_CONVERSIONS:
        raise SpectralError(f"gray must be one of {', '.join(GRAY_CONVERSIONS)}, not {gray!r}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or min(image.shape[:2]) < 2:
        raise SpectralError(f"image must be (H, W) grey or (H, W, 3) colour, at least 2x2 px, "
                            f"not shape {image.shape}")
    if image.dtype != np.uint8 and not np.isfinite(image).all():
        raise SpectralError("image holds NaN or infinite values; replace them first")
    if image.ndim == 2:
        return image
    code = _GRAY_CODES[f"{color}2gray" if gray == "auto" else gray]
    return cv2.cvtColor(image if image.dtype != np.float64 else image.astype(np.float32), code)


def full_fourier_map(image: np.ndarray, color: str = "rgb", gray: str = "auto") -> np.ndarray:
    """The normalised log-magnitude map before resizing: float64 (H, W) in (0, 1], 1.0 at the DC centre.

    ``image`` is uint8 (or float) RGB/BGR as ``color`` says, or 2-D grey (used as is); ``gray`` picks the grey
    conversion (see :data:`GRAY_CONVERSIONS`; "bgr2gray" on RGB data reproduces hairymax/johnraivenolazo).
    """
    spectrum = np.fft.fftshift(np.fft.fft2(_gray(image, color, gray)))
    magnitude = np.log(np.abs(spectrum) + 1)  # (H, W)
    low, high = magnitude.min(), magnitude.max()
    return (magnitude - low + 1) / (high - low + 1)


def _resized(image: np.ndarray, size: tuple[int, int], color: str, gray: str, interpolation: int) -> np.ndarray:
    height, width = _check_hw("size", size)
    full = full_fourier_map(image, color, gray)
    return cv2.resize(full, (width, height), interpolation=interpolation).astype(np.float32)  # (h, w)


def fourier_target(image: np.ndarray, size: tuple[int, int] = (10, 10), color: str = "rgb",
                   gray: str = "auto") -> np.ndarray:
    """The published FT target of ``image``: float32 (h, w) for ``size = (h, w)``, values in (0, 1].

    :func:`full_fourier_map` resized by ``cv2.resize(map, (w, h))`` with the default INTER_LINEAR. Pass
    ``size=fourier_target_size(input_hw)``. Use ``gray="bgr2gray"`` to reproduce hairymax/johnraivenolazo
    targets from RGB data; the default "auto" applies the correct luma for ``color``.
    """
    return _resized(image, size, color, gray, cv2.INTER_LINEAR)


def fourier_target_area(image: np.ndarray, size: tuple[int, int] = (10, 10), color: str = "rgb",
                        gray: str = "auto") -> np.ndarray:
    """An alternative target: the same normalised map block-averaged (INTER_AREA) to ``size = (h, w)``; float32.

    When shrinking, INTER_LINEAR does not average: each output cell interpolates the two-by-two input samples
    nearest its centre (e.g. rows 3-4, 11-12, ..., 43-44 of an 80-row map). The published target is therefore a
    sparse sampling of a speckled log spectrum: it keeps a few point values of the energy distribution, loses
    everything between them, and never samples the DC peak at the centre (row and column H//2, W//2), so on real
    crops (minivision's ``images/sample/`` photos) it spans only about 0.27-0.68 instead of reaching 1.0.
    INTER_AREA averages every sample of each block, so the cell holding DC includes it, but weighted by 1 / block
    area (1/64 from 80 to 10): that lifts the cell by only about 0.005, and on smooth crops it is usually, not
    always, the maximum.
    The real gain is that the speckle is averaged away: each cell is the mean level of its frequency band.
    """
    return _resized(image, size, color, gray, cv2.INTER_AREA)

"""A simulated camera: optics, point sampling, Bayer mosaic, noise, demosaic, sRGB encoding and JPEG.

Live and spoof scenes go through this same chain, so a classifier cannot learn "was simulated" instead of
"is a spoof". The scene is *supersampled* linear RGB: ``supersample`` scene samples per camera pixel along
each axis. After the optical blur the camera takes every ``supersample``-th sample with no anti-aliasing filter,
so fine structure above the camera's Nyquist frequency (halftone dots, display sub-pixels) aliases into moiré
exactly as it does on a real sensor without an optical low-pass filter.

Coordinates: camera pixel ``j`` (its centre) is scene sample ``supersample * j + supersample // 2``
(:func:`camera_to_scene`). Introduced in ``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fasutils.core.errors import SimulationError

Range = tuple[float, float]

DEMOSAIC_CODES = {"bilinear": cv2.COLOR_BayerRGGB2RGB, "edge_aware": cv2.COLOR_BayerRGGB2RGB_EA}
_SRGB_TO_LINEAR_LUT: np.ndarray | None = None


@dataclass(frozen=True)
class CameraConfig:
    """Every randomized camera parameter as a (low, high) range, sampled uniformly per capture.

    Set ``low == high`` to fix a value; ``jpeg_quality=None`` skips JPEG (lossless output).
    """

    exposure: Range = (0.85, 1.15)  # gain on linear radiance: auto-exposure error
    white_balance: Range = (0.92, 1.08)  # residual gain of R and of B relative to G: white-balance error
    auto_exposure: Range | None = None  # metering: gain bringing the scene's mean linear level into this range
    auto_white_balance: Range = (0.0, 0.0)  # grey-world correction strength (0: none, 1: channel means equalized)
    psf_sigma_px: Range = (0.35, 1.0)  # Gaussian optics blur (defocus, lens), camera px
    motion_probability: float = 0.25  # chance of hand-shake blur in a capture
    motion_length_px: Range = (1.0, 4.0)  # length of the straight motion path, camera px, random direction
    shot_noise: Range = (2e-4, 2e-3)  # shot-noise variance per unit linear signal (1 / electrons at full scale)
    read_noise: Range = (0.001, 0.006)  # read-noise std, in units of full scale (linear)
    demosaic: tuple[str, ...] = ("bilinear", "edge_aware")  # methods drawn with equal probability
    jpeg_quality: Range | None = (70.0, 95.0)  # JPEG quality (integer after sampling); None: no JPEG
    saturation: Range = (1.0, 1.0)  # image processing: colour saturation about the grey of each pixel (1: none)
    contrast: Range = (1.0, 1.0)  # image processing: encoded values stretched about mid-grey (1: none)

    def __post_init__(self) -> None:
        for name in ("exposure", "white_balance", "psf_sigma_px", "motion_length_px", "shot_noise", "read_noise",
                     "saturation", "contrast"):
            _check_range(name, getattr(self, name), minimum=0.0)
        _check_range("auto_white_balance", self.auto_white_balance, minimum=0.0, maximum=1.0)
        if self.auto_exposure is not None:
            _check_range("auto_exposure", self.auto_exposure, minimum=1e-3, maximum=1.0)
        if self.jpeg_quality is not None:
            _check_range("jpeg_quality", self.jpeg_quality, minimum=1.0, maximum=100.0)
        if not 0.0 <= self.motion_probability <= 1.0:
            raise SimulationError(f"motion_probability must lie in [0, 1], not {self.motion_probability}")
        unknown = [method for method in self.demosaic if method not in DEMOSAIC_CODES]
        if not self.demosaic or unknown:
            raise SimulationError(f"demosaic methods must be a non-empty choice of {sorted(DEMOSAIC_CODES)}, "
                                  f"not {self.demosaic!r}")


def _check_range(name: str, value: Range, minimum: float = -np.inf, maximum: float = np.inf) -> None:
    low, high = value
    if not minimum <= low <= high <= maximum:
        raise SimulationError(f"{name} must be a (low, high) range with {minimum} <= low <= high <= {maximum}, "
                              f"not {value!r}")


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB-encoded values to linear light (float32): uint8 in 0..255 or floats in [0, 1]."""
    global _SRGB_TO_LINEAR_LUT
    if values.dtype == np.uint8:
        if _SRGB_TO_LINEAR_LUT is None:
            _SRGB_TO_LINEAR_LUT = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)
        return _SRGB_TO_LINEAR_LUT[values]
    encoded = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] to sRGB-encoded floats in [0, 1] (values outside are clipped)."""
    linear = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055).astype(np.float32)


def camera_to_scene(supersample: int) -> np.ndarray:
    """The 3x3 matrix taking camera pixel coordinates to scene sample coordinates (pixel centres)."""
    offset = supersample // 2
    return np.array([[supersample, 0, offset], [0, supersample, offset], [0, 0, 1]], dtype=np.float64)


def sample_params(rng: np.random.Generator, config: CameraConfig = CameraConfig()) -> dict:
    """Draw one capture's parameters from ``config``: plain Python values, in the units of the config."""
    moving = bool(rng.random() < config.motion_probability)
    quality = None if config.jpeg_quality is None else int(round(rng.uniform(*config.jpeg_quality)))
    return {
        "exposure": float(rng.uniform(*config.exposure)),
        "white_balance_r": float(rng.uniform(*config.white_balance)),
        "white_balance_b": float(rng.uniform(*config.white_balance)),
        "psf_sigma_px": float(rng.uniform(*config.psf_sigma_px)),
        "motion_length_px": float(rng.uniform(*config.motion_length_px)) if moving else 0.0,
        "motion_angle_deg": float(rng.uniform(0.0, 180.0)),
        "shot_noise": float(rng.uniform(*config.shot_noise)),
        "read_noise": float(rng.uniform(*config.read_noise)),
        "demosaic": str(config.demosaic[int(rng.integers(len(config.demosaic)))]),
        "jpeg_quality": quality,
        "saturation": float(rng.uniform(*config.saturation)),
        "auto_exposure_target": None if config.auto_exposure is None else float(rng.uniform(*config.auto_exposure)),
        "auto_white_balance": float(rng.uniform(*config.auto_white_balance)),
        "contrast": float(rng.uniform(*config.contrast)),
    }


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalized straight-line blur kernel of ``length`` samples at ``angle_deg`` (anti-aliased)."""
    radius = int(np.ceil(length / 2)) + 1
    ys, xs = np.mgrid[-radius:radius + 1, -radius:radius + 1].astype(np.float64)
    direction = np.array([np.cos(np.radians(angle_deg)), -np.sin(np.radians(angle_deg))])
    along = np.clip(xs * direction[0] + ys * direction[1], -length / 2, length / 2)
    distance = np.hypot(xs - along * direction[0], ys - along * direction[1])
    kernel = np.clip(1.0 - distance, 0.0, None)
    return (kernel / kernel.sum()).astype(np.float32)


def optics(scene: np.ndarray, supersample: int, psf_sigma_px: float, motion_length_px: float = 0.0,
           motion_angle_deg: float = 0.0) -> np.ndarray:
    """Blur the supersampled scene by the lens PSF (Gaussian, sigma in camera px) and optional motion."""
    blurred = scene
    if motion_length_px > 0:
        blurred = cv2.filter2D(blurred, -1, motion_kernel(motion_length_px * supersample, motion_angle_deg),
                               borderType=cv2.BORDER_REFLECT)
    sigma = psf_sigma_px * supersample
    if sigma > 0:
        blurred = cv2.GaussianBlur(blurred, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return blurred


def point_sample(scene: np.ndarray, supersample: int) -> np.ndarray:
    """Every ``supersample``-th scene sample (no anti-aliasing): what a sensor without a low-pass filter sees."""
    offset = supersample // 2
    return np.ascontiguousarray(scene[offset::supersample, offset::supersample])


def bayer_mosaic(rgb: np.ndarray) -> np.ndarray:
    """The RGGB colour filter array: one channel per photosite, R at (0, 0) and B at (1, 1)."""
    raw = rgb[..., 1].copy()
    raw[0::2, 0::2] = rgb[0::2, 0::2, 0]
    raw[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return raw


def add_sensor_noise(raw: np.ndarray, rng: np.random.Generator, shot_noise: float, read_noise: float) -> np.ndarray:
    """Shot noise (variance ``shot_noise * signal``) plus read noise (std ``read_noise``), clipped to [0, 1]."""
    std = np.sqrt(shot_noise * np.clip(raw, 0.0, None) + read_noise ** 2)
    return np.clip(raw + std * rng.standard_normal(raw.shape, dtype=np.float32), 0.0, 1.0)


def demosaic(raw: np.ndarray, method: str = "bilinear") -> np.ndarray:
    """Interpolate an RGGB mosaic in [0, 1] back to RGB with OpenCV's demosaicing (16-bit, linear light)."""
    raw16 = np.round(np.clip(raw, 0.0, 1.0) * 65535.0).astype(np.uint16)
    return cv2.cvtColor(raw16, DEMOSAIC_CODES[method]).astype(np.float32) / 65535.0


def jpeg_roundtrip(image: np.ndarray, quality: int) -> tuple[np.ndarray, int]:
    """Encode an RGB uint8 image as JPEG at ``quality`` and decode it; returns (image, size in bytes)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise SimulationError(f"OpenCV could not JPEG-encode an image of shape {image.shape}")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), int(data.size)


def check_scene(scene: np.ndarray, supersample: int) -> None:
    """Raise :class:`SimulationError` unless ``scene`` is float (H*s, W*s, 3) with an integer ``s`` >= 1."""
    if not isinstance(supersample, (int, np.integer)) or isinstance(supersample, bool) or supersample < 1:
        raise SimulationError(f"supersample must be an integer >= 1 (2 to 4 is usual), not {supersample!r}")
    if not isinstance(scene, np.ndarray) or scene.dtype not in (np.float32, np.float64):
        kind = scene.dtype if isinstance(scene, np.ndarray) else type(scene).__name__
        raise SimulationError(f"scene must be a float32 array of linear RGB (see srgb_to_linear), not {kind}")
    if scene.ndim != 3 or scene.shape[2] != 3:
        raise SimulationError(f"scene must have shape (H*s, W*s, 3), not {scene.shape}")
    height, width = scene.shape[:2]
    if height % supersample or width % supersample or height < 2 * supersample or width < 2 * supersample:
        raise SimulationError(f"scene size {width}x{height} must be a multiple of supersample={supersample} "
                              "and at least 2 camera pixels each way")


def adjust_colour(encoded: np.ndarray, saturation: float, contrast: float) -> np.ndarray:
    """Image processing on encoded (sRGB, 0-1) values: colour saturation about each pixel's grey, then contrast
    about mid-grey (1 and 1: unchanged). Cameras differ here, webcams and phones alike."""
    if saturation == 1.0 and contrast == 1.0:
        return encoded
    grey = encoded.mean(axis=2, keepdims=True)
    return 0.5 + contrast * (grey + saturation * (encoded - grey) - 0.5)


def metering_gains(scene: np.ndarray, exposure_target: float | None, white_balance: float) -> np.ndarray:
    """Per-channel gains a camera's metering applies: grey world to the power ``white_balance`` (the channel means
    pulled towards their mean), then one gain bringing the mean linear level to ``exposure_target`` (None: no
    auto exposure). As webcams do, a dim print and a bright screen come out at similar levels and colours."""
    means = np.maximum(scene.reshape(-1, 3).mean(axis=0), 1e-6)  # (3,) linear channel means
    gains = (means.mean() / means) ** white_balance
    if exposure_target is not None:
        gains = gains * exposure_target / float((means * gains).mean())
    return gains.astype(np.float32)


def capture(scene: np.ndarray, supersample: int, rng: np.random.Generator,
            config: CameraConfig = CameraConfig()) -> tuple[np.ndarray, dict]:
    """Photograph a supersampled linear-RGB scene; returns (uint8 RGB image of H x W, the sampled parameters).

    Chain: metering (auto exposure and grey-world white balance, when configured), exposure and white-balance
    error, motion blur, Gaussian PSF, point sampling, RGGB mosaic, shot and read noise, demosaic, sRGB encoding,
    saturation and contrast, 8-bit quantization, JPEG round trip.
    """
    check_scene(scene, supersample)
    params = sample_params(rng, config)
    gains = params["exposure"] * np.array([params["white_balance_r"], 1.0, params["white_balance_b"]], np.float32)
    gains = gains * metering_gains(scene, params["auto_exposure_target"], params["auto_white_balance"])
    lit = scene.astype(np.float32, copy=False) * gains
    sharp = point_sample(optics(lit, supersample, params["psf_sigma_px"], params["motion_length_px"],
                                params["motion_angle_deg"]), supersample)
    raw = add_sensor_noise(bayer_mosaic(sharp), rng, params["shot_noise"], params["read_noise"])
    encoded = linear_to_srgb(demosaic(raw, params["demosaic"]))
    encoded = adjust_colour(encoded, params["saturation"], params["contrast"])  # the camera's own processing
    image = np.round(np.clip(encoded, 0.0, 1.0) * 255.0).astype(np.uint8)
    params["jpeg_bytes"] = None
    if params["jpeg_quality"] is not None:
        image, params["jpeg_bytes"] = jpeg_roundtrip(image, params["jpeg_quality"])
    params["supersample"] = int(supersample)
    return image, params

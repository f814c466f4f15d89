"""Physically motivated spoof attacks (print, replay, cut photo) rendered as a scene and photographed.

Each attack builds a supersampled scene in linear light: the medium (paper with halftoned inks, or a display
with RGB sub-pixels) is placed in 3D in front of a pinhole camera, bent and tilted, lit, and composited into a
different background; :func:`fasutils.camera_model.capture` then photographs it. Live photos go through the same
camera. Physical sizes are in mm and the scale is explicit: ``camera_px_per_mm`` at the face follows from how large
the face must appear, so halftone periods and display pitches in camera pixels follow from lpi and pitch in mm.

Moiré is never drawn: it appears when the camera point-samples the halftone or sub-pixel grid. Structure finer
than the scene grid itself is attenuated (a Gaussian anti-alias of ``AA_SIGMA`` scene samples) instead of aliasing
there; at such scales the optics would remove it anyway.

Introduced in ``01_fft_spoof_artifacts.ipynb``. Rigid 3D masks are out of scope: they cannot be rendered
believably from one photo.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from fasutils.camera_model import CameraConfig, camera_to_scene, capture, srgb_to_linear
from fasutils.errors import FasError

Range = tuple[float, float]

ATTACK_TYPES = ("print", "replay", "cut_photo")
KINDS = ("live", *ATTACK_TYPES)
INKS = ("C", "M", "Y", "K")
SCREEN_ANGLES_DEG = (15.0, 75.0, 0.0, 45.0)  # C, M, Y, K; counter-clockwise as seen on the page
# Reflectance factor (R, G, B) of a solid layer of each ink on white paper; black's is set per print.
INK_TRANSMITTANCE = np.array([[0.06, 0.45, 0.85], [0.80, 0.07, 0.40], [0.95, 0.85, 0.06], [1.0, 1.0, 1.0]],
                             dtype=np.float32)
AA_SIGMA = 0.5  # scene samples: anti-alias width of structure rendered on the scene grid
_MAP_STEP = 8  # scene samples between exactly ray-cast map points (linear in between)
_FAR_MM = 1e5  # medium coordinate given to rays that miss the medium


class UnknownKindError(FasError, ValueError):
    """A kind of image that :func:`simulate` does not know."""


class SimulationInputError(FasError, ValueError):
    """A photo, points, background, size or config that :func:`simulate` cannot use."""


@dataclass(frozen=True)
class SceneConfig:
    """Framing, pose, lighting and background of an attack, each a (low, high) range sampled uniformly."""

    face_scale: Range = (0.8, 1.1)  # face size in the output / its size in the photo, relative to the frame
    face_shift: Range = (-0.08, 0.08)  # offset of the face centre from the frame centre, fraction of the frame
    yaw_deg: Range = (-25.0, 25.0)  # rotation of the medium about its vertical axis
    pitch_deg: Range = (-20.0, 20.0)  # rotation about its horizontal axis
    roll_deg: Range = (-10.0, 10.0)  # rotation in the image plane
    hfov_deg: Range = (50.0, 75.0)  # camera's horizontal field of view (sets the perspective strength)
    illumination: Range = (0.7, 1.2)  # light on the medium relative to the background's radiance scale
    light_gradient: Range = (0.0, 0.25)  # relative change of that light across the frame
    light_angle_deg: Range = (0.0, 40.0)  # light direction from the medium's normal (shades a bent sheet)
    glare: Range = (0.0, 0.12)  # peak of a specular lobe, linear radiance
    glare_radius: Range = (0.1, 0.4)  # its width, fraction of the frame
    background_blur_px: Range = (0.0, 2.5)  # defocus of the background, camera px


@dataclass(frozen=True)
class LiveConfig:
    """A live photo re-framed like the attacks (face size and position) and mildly relit."""

    face_scale: Range = (0.95, 1.15)  # never below what keeps the frame covered by the photo
    face_shift: Range = (-0.08, 0.08)
    roll_deg: Range = (-5.0, 5.0)
    illumination: Range = (0.8, 1.2)
    light_gradient: Range = (0.0, 0.2)


@dataclass(frozen=True)
class PrintConfig:
    """A photo printed on paper (laser/offset AM screen or inkjet FM dots), held in front of the camera."""

    scene: SceneConfig = SceneConfig()
    print_width_mm: Range = (90.0, 210.0)  # printed width of the photo
    border_mm: Range = (2.0, 10.0)  # white paper margin around it
    lpi: Range = (85.0, 200.0)  # AM screen ruling, lines per inch
    fm_probability: float = 0.25  # chance of an inkjet-like FM (blue-noise) screen instead of AM
    fm_dot_mm: Range = (0.02, 0.06)  # FM dot size (about 1200 to 400 dpi)
    saturation: Range = (0.7, 0.9)  # gamut compression: chroma kept
    hue_shift_deg: Range = (-6.0, 6.0)  # gamut compression: hue rotation
    gcr: Range = (0.5, 1.0)  # grey component replacement: fraction of min(C, M, Y) printed as K
    dot_gain: Range = (0.10, 0.25)  # tone value increase at 50% coverage
    paper_white: Range = (0.80, 0.92)  # reflectance of bare paper
    paper_black: Range = (0.01, 0.05)  # reflectance of solid black ink
    paper_tint: Range = (-0.03, 0.03)  # blue minus red reflectance of the paper white
    paper_texture: Range = (0.01, 0.04)  # std of the multiplicative fibre texture
    paper_texture_mm: Range = (0.1, 0.5)  # its correlation length
    bend_probability: float = 0.6  # chance of a cylindrical bend
    bend_radius_mm: Range = (150.0, 600.0)


@dataclass(frozen=True)
class ReplayConfig:
    """A photo shown on an LCD (RGB vertical-stripe sub-pixels, black matrix, bezel), held in front of the camera."""

    scene: SceneConfig = SceneConfig()
    screen_width_mm: Range = (50.0, 300.0)  # width of the displayed photo on the screen
    pitch_mm: Range = (0.045, 0.30)  # pixel pitch: phones 0.045-0.07, tablets 0.1, laptops 0.2, monitors 0.3
    fill_factor: Range = (0.6, 0.9)  # lit fraction of each sub-pixel column (the rest is black matrix)
    row_fill: Range = (0.85, 0.97)  # lit fraction of each pixel row
    gamma: Range = (2.0, 2.4)  # display EOTF exponent
    black_level: Range = (0.001, 0.005)  # emitted black relative to white
    brightness: Range = (0.7, 1.6)  # emitted white relative to the background's radiance scale
    white_point_r: Range = (0.85, 1.0)  # red gain of the display white (bluish 7000-9300 K whites)
    white_point_b: Range = (1.0, 1.15)  # blue gain
    backlight_falloff: Range = (0.05, 0.15)  # relative brightness loss from centre to corners
    reflection: Range = (0.01, 0.1)  # reflectance of the glass for the room behind the camera
    bezel_mm: Range = (2.0, 10.0)  # dark frame around the active area
    corner_radius_mm: Range = (3.0, 12.0)  # rounding of the device corners
    bezel_reflectance: Range = (0.02, 0.06)  # diffuse reflectance of bezel and screen glass


@dataclass(frozen=True)
class CutPhotoConfig:
    """A print with elliptical eye holes through which the attacker's live eyes show."""

    print: PrintConfig = PrintConfig()
    eye_indices: tuple[int, int] = (0, 1)  # rows of ``points`` that are the eyes (YuNet: right, left eye)
    hole_size: Range = (0.18, 0.26)  # semi-major axis of a hole / distance between the eyes
    hole_aspect: Range = (0.45, 0.7)  # semi-minor / semi-major axis
    parallax_px: Range = (1.0, 4.0)  # offset of the live eyes behind the holes, camera px
    rim_px: Range = (1.0, 3.0)  # width of the dark cut edge and shadow, camera px
    rim_darkness: Range = (0.3, 0.7)  # darkening at the cut edge


CONFIG_TYPES = {"live": LiveConfig, "print": PrintConfig, "replay": ReplayConfig, "cut_photo": CutPhotoConfig}


@dataclass(frozen=True)
class Scene:
    """A rendered scene before the camera: supersampled linear RGB, points in output px, sampled parameters."""

    linear: np.ndarray
    points: np.ndarray
    params: dict
    supersample: int


@dataclass(frozen=True)
class Simulated:
    """A photographed live or spoof image: uint8 RGB, points (N, 2) in output px, all sampled parameters."""

    image: np.ndarray
    points: np.ndarray
    params: dict
    kind: str


# ---------------------------------------------------------------------------------------------------------------
# Media: halftone screens, ink mixing, display emission (public so notebooks and tests can show them in isolation)


def _aa_attenuation(frequency: float) -> float:
    """How much of a modulation at ``frequency`` (cycles per scene sample) the scene grid may keep."""
    if frequency > 0.75:  # would alias to below 0.25 cycles/sample; the optics would remove it anyway
        return 0.0
    return math.exp(-2.0 * math.pi ** 2 * AA_SIGMA ** 2 * frequency ** 2)


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


def _am_ink(coverage: np.ndarray, threshold: np.ndarray, u_mm: np.ndarray, v_mm: np.ndarray, period_mm: float,
            angle_deg: float, px_per_mm: float) -> np.ndarray:
    period_px = period_mm * px_per_mm
    keep = _aa_attenuation(1.0 / period_px)
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
    return _am_ink(coverage, coverage_to_threshold(coverage), np.asarray(u_mm, np.float32),
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
    keep = _aa_attenuation(0.5 / (dot_mm * px_per_mm))
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
    return _reflectance([inks[..., i] for i in range(4)], paper_rgb, black)


def _reflectance(planes: list[np.ndarray], paper_rgb: np.ndarray, black: float) -> np.ndarray:
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
    keep = _aa_attenuation(1.0 / pitch_px)
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


# ---------------------------------------------------------------------------------------------------------------
# Geometry: a flat or cylindrically bent sheet in front of a pinhole camera


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    yaw, pitch, roll = (math.radians(angle) for angle in (yaw_deg, pitch_deg, roll_deg))
    about_x = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    about_y = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    about_z = np.array([[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]])
    return about_z @ about_y @ about_x


@dataclass(frozen=True)
class _Sheet:
    """Medium point (u, v) mm -> local 3D (bent about a vertical axis) -> camera (rotation about ``pivot``)."""

    rotation: np.ndarray
    translation: np.ndarray  # camera coordinates (mm) of the pivot
    pivot: np.ndarray  # local coordinates of the pivot (the face centre on the sheet)
    focal: float  # camera px
    principal: tuple[float, float]  # camera px
    radius: float = math.inf  # bend radius, mm
    sign: float = 1.0  # +1: edges bend away from the camera; -1: towards it
    axis_u: float = 0.0  # u of the bend axis

    def local(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        if math.isinf(self.radius):
            return np.stack([u, v, np.zeros_like(u)], axis=-1)
        theta = (u - self.axis_u) / self.radius
        return np.stack([self.axis_u + self.radius * np.sin(theta), v,
                         self.sign * self.radius * (1 - np.cos(theta))], axis=-1)

    def project(self, uv: np.ndarray) -> np.ndarray:
        """Camera pixel coordinates (N, 2) of medium points (N, 2) in mm."""
        camera = (self.local(uv[:, 0], uv[:, 1]) - self.pivot) @ self.rotation.T + self.translation
        return self.focal * camera[:, :2] / camera[:, 2:] + np.asarray(self.principal)

    def unproject(self, x: np.ndarray, y: np.ndarray, light: np.ndarray) -> tuple[np.ndarray, ...]:
        """Medium (u, v) mm hit by the rays through camera pixels (x, y), and Lambertian shading relative to flat."""
        rays = np.stack([(x - self.principal[0]) / self.focal, (y - self.principal[1]) / self.focal,
                         np.ones_like(x)], axis=-1) @ self.rotation  # rows are R^T d
        origin = self.rotation.T @ -self.translation + self.pivot
        with np.errstate(divide="ignore", invalid="ignore"):
            if math.isinf(self.radius):
                t = -origin[2] / rays[..., 2]
                hit = t > 0
                shade = np.ones_like(x)
                u = origin[0] + t * rays[..., 0]
            else:
                pu, pn = origin[0] - self.axis_u, origin[2] - self.sign * self.radius
                a = rays[..., 0] ** 2 + rays[..., 2] ** 2
                b = 2 * (pu * rays[..., 0] + pn * rays[..., 2])
                disc = b * b - 4 * a * (pu * pu + pn * pn - self.radius ** 2)
                t = (-b - self.sign * np.sqrt(np.maximum(disc, 0))) / (2 * a)
                hit = (disc >= 0) & (t > 0)
                theta = np.arctan2(pu + t * rays[..., 0], -self.sign * (pn + t * rays[..., 2]))
                u = self.axis_u + self.radius * theta
                facing = self.sign * np.sin(theta) * light[0] - np.cos(theta) * light[2]
                shade = np.maximum(facing, 0.05) / -light[2]
            v = origin[1] + t * rays[..., 1]
        return np.where(hit, u, _FAR_MM), np.where(hit, v, _FAR_MM), np.where(hit, shade, 1.0)


def _unit_light(angle_deg: float, azimuth_deg: float) -> np.ndarray:
    """Direction towards the light in sheet coordinates (the camera side is -n)."""
    angle, azimuth = math.radians(angle_deg), math.radians(azimuth_deg)
    return np.array([math.sin(angle) * math.cos(azimuth), math.sin(angle) * math.sin(azimuth), -math.cos(angle)])


@dataclass
class _Stage:
    """One attack's geometry and lighting, with maps over the scene region the medium may cover."""

    sheet: _Sheet
    rows: slice
    cols: slice
    u: np.ndarray  # medium mm per scene sample in the region
    v: np.ndarray
    shade: np.ndarray
    light: np.ndarray  # illumination times gradient, region
    glare: np.ndarray  # additive specular lobe, region
    background: np.ndarray  # full scene, linear
    background_out: np.ndarray  # background at output resolution, linear (for reflections)
    points: np.ndarray  # output px
    camera_px_per_mm: float
    params: dict


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(*bounds))


def _face_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2, float(max(high - low))


def _place_sheet(photo_shape: tuple[int, ...], points: np.ndarray, mm_per_px: tuple[float, float],
                 out_size: tuple[int, int], rng: np.random.Generator, config: SceneConfig,
                 bend: tuple[float, float] | None, light: np.ndarray) -> tuple[_Sheet, np.ndarray, dict]:
    """Pose the sheet so the face keeps about its size relative to the frame and every point stays in view."""
    width, height = out_size
    photo_h, photo_w = photo_shape[:2]
    uv_points = (points + 0.5) * np.asarray(mm_per_px)
    centre_px, size_px = _face_box(points)
    centre_mm = (centre_px + 0.5) * np.asarray(mm_per_px)
    size_mm = size_px * math.sqrt(mm_per_px[0] * mm_per_px[1])
    frame_ratio = math.sqrt(width * height / (photo_w * photo_h))
    hfov = _uniform(rng, config.hfov_deg)
    focal = (width / 2) / math.tan(math.radians(hfov) / 2)
    angles = {name: _uniform(rng, getattr(config, name)) for name in ("yaw_deg", "pitch_deg", "roll_deg")}
    scale = _uniform(rng, config.face_scale)
    shift = rng.uniform(*config.face_shift, size=2)
    principal = ((width - 1) / 2, (height - 1) / 2)
    radius, sign = bend if bend is not None else (math.inf, 1.0)
    for _ in range(16):
        px_per_mm = size_px * frame_ratio * scale / size_mm
        distance = focal / px_per_mm
        target = np.asarray(principal) + shift * (width, height)
        translation = np.array([*((target - principal) * distance / focal), distance])
        pivot = np.array([centre_mm[0], centre_mm[1], 0.0])  # the bend axis passes through the face centre
        sheet = _Sheet(_rotation(**angles), translation, pivot, focal, principal, radius, sign, float(centre_mm[0]))
        projected = sheet.project(uv_points)
        if np.all(np.isfinite(projected)) and np.all(projected >= 1) and np.all(projected <= (width - 2, height - 2)):
            break
        scale, shift = scale * 0.9, shift * 0.7
    else:
        raise SimulationInputError(f"the face (points spanning {size_px:.0f} photo px) cannot be placed inside a "
                                   f"{width}x{height} output; use a larger out_size or smaller face_scale")
    params = {"face_scale": scale, "face_shift_x": float(shift[0]), "face_shift_y": float(shift[1]),
              "hfov_deg": hfov, "focal_px": focal, "distance_mm": float(distance), **angles,
              "bend_radius_mm": None if bend is None else radius, "bend_sign": None if bend is None else sign}
    return sheet, projected, params


def _background(background: np.ndarray, out_size: tuple[int, int], supersample: int, rng: np.random.Generator,
                blur_px: float) -> tuple[np.ndarray, np.ndarray]:
    """A random crop of the background at output and at scene resolution, linear light, defocused."""
    width, height = out_size
    bg_h, bg_w = background.shape[:2]
    zoom = rng.uniform(1.0, 1.5)
    crop_w = min(bg_w, bg_h * width / height) / zoom
    crop_h = crop_w * height / width
    x0, y0 = int(rng.uniform(0, bg_w - crop_w + 1e-9)), int(rng.uniform(0, bg_h - crop_h + 1e-9))
    crop = background[y0:y0 + max(1, round(crop_h)), x0:x0 + max(1, round(crop_w))]
    out = srgb_to_linear(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA))
    if blur_px > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur_px)
    return cv2.resize(out, (width * supersample, height * supersample), interpolation=cv2.INTER_LINEAR), out


def _smooth_fields(rng: np.random.Generator, config: SceneConfig, shape: tuple[int, int], rows: slice,
                   cols: slice) -> tuple[np.ndarray, np.ndarray, dict]:
    """Illumination with a linear gradient, and an additive glare lobe, over a region of the scene."""
    height, width = shape
    params = {name: _uniform(rng, getattr(config, name)) for name in ("illumination", "light_gradient")}
    params["light_gradient_deg"] = float(rng.uniform(0, 360))
    params.update({name: _uniform(rng, getattr(config, name)) for name in ("glare", "glare_radius")})
    params.update(glare_x=float(rng.uniform(0, 1)), glare_y=float(rng.uniform(0, 1)))
    span = max(height, width)
    ys = ((np.arange(rows.start, rows.stop, dtype=np.float32) - height / 2) / span)[:, None]
    xs = ((np.arange(cols.start, cols.stop, dtype=np.float32) - width / 2) / span)[None, :]
    angle = math.radians(params["light_gradient_deg"])
    light = params["illumination"] * (1 + params["light_gradient"] * (xs * math.cos(angle) + ys * math.sin(angle)))
    radius = params["glare_radius"]
    gx, gy = (params["glare_x"] - 0.5) * width / span, (params["glare_y"] - 0.5) * height / span
    spread = 2 * radius ** 2
    glare = params["glare"] * np.exp(-((ys - gy) ** 2) / spread) * np.exp(-((xs - gx) ** 2) / spread)  # separable
    return light.astype(np.float32), glare.astype(np.float32), params


def _ray_maps(sheet: _Sheet, out_size: tuple[int, int], supersample: int, light: np.ndarray) -> np.ndarray:
    """(u, v, shade) for every scene sample: exact rays every ``_MAP_STEP`` samples, bilinear in between."""
    step = _MAP_STEP
    width, height = out_size[0] * supersample, out_size[1] * supersample
    nx, ny = math.ceil(width / step) + 2, math.ceil(height / step) + 2
    # Coarse sample k sits at scene position k * step - step / 2 - 0.5, which is where cv2.resize puts it.
    xs = (np.arange(nx) * step - step / 2 - 0.5 - supersample // 2) / supersample
    ys = (np.arange(ny) * step - step / 2 - 0.5 - supersample // 2) / supersample
    grid_x, grid_y = np.meshgrid(xs, ys)
    coarse = np.stack(sheet.unproject(grid_x, grid_y, light), axis=-1).astype(np.float32)
    fine = cv2.resize(coarse, (nx * step, ny * step), interpolation=cv2.INTER_LINEAR)
    return fine[step:step + height, step:step + width]


def _stage(photo: np.ndarray, points: np.ndarray, background: np.ndarray, out_size: tuple[int, int],
           rng: np.random.Generator, supersample: int, config: SceneConfig, content_mm: tuple[float, float],
           margin_mm: float, bend: tuple[float, float] | None) -> _Stage:
    """Pose the medium, cast rays, and prepare background and lighting for the region the medium covers."""
    mm_per_px = (content_mm[0] / photo.shape[1], content_mm[1] / photo.shape[0])
    light_dir = _unit_light(_uniform(rng, config.light_angle_deg), float(rng.uniform(0, 360)))
    sheet, projected, params = _place_sheet(photo.shape, points, mm_per_px, out_size, rng, config, bend, light_dir)
    maps = _ray_maps(sheet, out_size, supersample, light_dir)
    inside = ((maps[..., 0] > -margin_mm - 1) & (maps[..., 0] < content_mm[0] + margin_mm + 1)
              & (maps[..., 1] > -margin_mm - 1) & (maps[..., 1] < content_mm[1] + margin_mm + 1))
    row_any, col_any = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if row_any.size == 0:  # cannot happen while the face points project inside, kept as a clear failure
        raise SimulationInputError("the medium does not appear in the output; check points and out_size")
    rows, cols = slice(int(row_any[0]), int(row_any[-1]) + 1), slice(int(col_any[0]), int(col_any[-1]) + 1)
    scene_bg, out_bg = _background(background, out_size, supersample, rng, _uniform(rng, config.background_blur_px))
    light, glare, light_params = _smooth_fields(rng, config, scene_bg.shape[:2], rows, cols)
    probe = sheet.project(sheet.pivot[:2] + np.array([[0, 0], [0.5, 0], [0, 0.5]]))
    camera_px_per_mm = float(np.linalg.norm(probe[1:] - probe[0], axis=1).mean() / 0.5)
    params.update(light_params, camera_px_per_mm=camera_px_per_mm)
    region = maps[rows, cols]
    return _Stage(sheet, rows, cols, region[..., 0], region[..., 1], region[..., 2], light, glare, scene_bg, out_bg,
                  projected, camera_px_per_mm, params)


def _box_alpha(u: np.ndarray, v: np.ndarray, box: tuple[float, float, float, float], corner_mm: float,
               samples_per_mm: float) -> np.ndarray:
    """Anti-aliased coverage of a rounded rectangle (u0, v0, u1, v1) in mm."""
    u0, v0, u1, v1 = box
    half = np.array([(u1 - u0) / 2, (v1 - v0) / 2], np.float32)
    qx = np.abs(u - (u0 + u1) / 2) - (half[0] - corner_mm)
    qy = np.abs(v - (v0 + v1) / 2) - (half[1] - corner_mm)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - corner_mm
    return np.clip(0.5 - outside * np.float32(samples_per_mm), 0.0, 1.0)


def _composite(stage: _Stage, radiance: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    scene = stage.background
    region = scene[stage.rows, stage.cols]
    scene[stage.rows, stage.cols] = region + alpha[..., None] * (radiance - region)
    return scene


def _fit_content(photo: np.ndarray, samples_per_px: float) -> np.ndarray:
    """Shrink the photo (area averaging) when one photo pixel would span less than one scene sample."""
    if samples_per_px >= 1:
        return photo
    size = (max(8, round(photo.shape[1] * samples_per_px)), max(8, round(photo.shape[0] * samples_per_px)))
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA)


# ---------------------------------------------------------------------------------------------------------------
# Renderers


def _paper_texture(stage: _Stage, extent: tuple[float, float, float, float], rng: np.random.Generator,
                   strength: float, correlation_mm: float) -> np.ndarray:
    u0, v0, u1, v1 = extent
    cell = max(correlation_mm / 2, max(u1 - u0, v1 - v0) / 1024)
    noise = rng.standard_normal((int((v1 - v0) / cell) + 3, int((u1 - u0) / cell) + 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), correlation_mm / cell)
    noise /= max(float(noise.std()), 1e-6)
    fibres = cv2.remap(noise, (stage.u - u0) / np.float32(cell), (stage.v - v0) / np.float32(cell), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT)
    return 1 + np.float32(strength) * fibres


def _sample_print(rng: np.random.Generator, config: PrintConfig) -> dict:
    names = ("print_width_mm", "border_mm", "saturation", "hue_shift_deg", "gcr", "dot_gain", "paper_white",
             "paper_black", "paper_tint", "paper_texture", "paper_texture_mm")
    params = {name: _uniform(rng, getattr(config, name)) for name in names}
    params["screen"] = "fm" if rng.random() < config.fm_probability else "am"
    params["lpi"] = _uniform(rng, config.lpi)
    params["fm_dot_mm"] = _uniform(rng, config.fm_dot_mm)
    bent = rng.random() < config.bend_probability
    radius, sign = _uniform(rng, config.bend_radius_mm), float(rng.choice([-1.0, 1.0]))
    params["bend"] = (radius, sign) if bent else None
    return params


def _render_print(photo: np.ndarray, points: np.ndarray, background: np.ndarray, out_size: tuple[int, int],
                  rng: np.random.Generator, supersample: int, config: PrintConfig,
                  holes: CutPhotoConfig | None = None) -> Scene:
    p = _sample_print(rng, config)
    photo_h, photo_w = photo.shape[:2]
    content = (p["print_width_mm"], p["print_width_mm"] * photo_h / photo_w)
    border = p["border_mm"]
    stage = _stage(photo, points, background, out_size, rng, supersample, config.scene, content, border, p.pop("bend"))
    samples_per_mm = stage.camera_px_per_mm * supersample
    printed = _fit_content(photo, samples_per_mm * content[0] / photo_w)
    paper = p["paper_white"] * np.array([1 - p["paper_tint"] / 2, 1.0, 1 + p["paper_tint"] / 2], np.float32)
    coverage = print_coverage(printed, paper, p["paper_black"], p["saturation"], p["hue_shift_deg"], p["gcr"],
                              p["dot_gain"])
    planes = np.concatenate([np.pad(coverage, ((2, 2), (2, 2), (0, 0))),
                             np.pad(coverage_to_threshold(coverage), ((2, 2), (2, 2), (0, 0)), constant_values=-1.0)],
                            axis=-1)
    scale_u, scale_v = np.float32(printed.shape[1] / content[0]), np.float32(printed.shape[0] / content[1])
    planes = cv2.remap(planes, stage.u * scale_u + 1.5, stage.v * scale_v + 1.5, cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)  # + 2 for the padding, - 0.5 for pixel centres
    period_mm = 25.4 / p["lpi"]
    if p["screen"] == "am":
        inks = [_am_ink(planes[..., i], planes[..., 4 + i], stage.u, stage.v, period_mm, SCREEN_ANGLES_DEG[i],
                        samples_per_mm) for i in range(4)]
    else:
        masks = [blue_noise_mask(rng) for _ in INKS]
        inks = [fm_screen(planes[..., i], stage.u, stage.v, p["fm_dot_mm"], samples_per_mm, masks[i])
                for i in range(4)]
    extent = (-border, -border, content[0] + border, content[1] + border)
    reflectance = _reflectance(inks, paper, p["paper_black"])
    reflectance *= _paper_texture(stage, extent, rng, p["paper_texture"], p["paper_texture_mm"])[..., None]
    radiance = reflectance * (stage.light * stage.shade)[..., None] + stage.glare[..., None]
    if holes is not None:
        radiance = _cut_holes(radiance, photo, points, stage, rng, holes, content, supersample, p)
    alpha = _box_alpha(stage.u, stage.v, extent, 0.0, samples_per_mm)
    p.update(stage.params, halftone_period_mm=period_mm, halftone_period_camera_px=period_mm * stage.camera_px_per_mm,
             fm_dot_camera_px=p["fm_dot_mm"] * stage.camera_px_per_mm)
    return Scene(_composite(stage, radiance, alpha), stage.points, p, supersample)


def _cut_holes(radiance: np.ndarray, photo: np.ndarray, points: np.ndarray, stage: _Stage, rng: np.random.Generator,
               config: CutPhotoConfig, content_mm: tuple[float, float], supersample: int, params: dict) -> np.ndarray:
    """Elliptical eye holes showing the live photo, offset by parallax, with a dark cut edge and shadow."""
    try:
        eyes = points[list(config.eye_indices)]
    except IndexError:
        raise SimulationInputError(f"cut_photo needs the eyes at rows {config.eye_indices} of points, but only "
                                   f"{len(points)} points were given") from None
    mm_per_px = np.array([content_mm[0] / photo.shape[1], content_mm[1] / photo.shape[0]])
    eyes_mm = (eyes + 0.5) * mm_per_px
    eye_distance = float(np.linalg.norm(eyes_mm[1] - eyes_mm[0]))
    if eye_distance <= 0:
        raise SimulationInputError(f"the two eye points {eyes.tolist()} coincide; check eye_indices")
    h = {name: _uniform(rng, getattr(config, name)) for name in ("hole_size", "hole_aspect", "parallax_px", "rim_px",
                                                                  "rim_darkness")}
    h["parallax_deg"] = float(rng.uniform(0, 360))
    semi_major = h["hole_size"] * eye_distance
    semi_minor = semi_major * h["hole_aspect"]
    tilt = math.atan2(*(eyes_mm[1] - eyes_mm[0])[::-1])
    shift = h["parallax_px"] / stage.camera_px_per_mm * np.array([math.cos(math.radians(h["parallax_deg"])),
                                                                  math.sin(math.radians(h["parallax_deg"]))])
    live = srgb_to_linear(photo)
    samples_per_mm = np.float32(stage.camera_px_per_mm * supersample)
    out = radiance.copy()
    for centre in eyes_mm:
        window = (np.abs(stage.u - centre[0]) < 2 * semi_major) & (np.abs(stage.v - centre[1]) < 2 * semi_major)
        rows, cols = np.flatnonzero(window.any(axis=1)), np.flatnonzero(window.any(axis=0))
        if rows.size == 0:
            continue
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        du, dv = stage.u[box] - centre[0], stage.v[box] - centre[1]
        along = du * math.cos(tilt) + dv * math.sin(tilt)
        across = -du * math.sin(tilt) + dv * math.cos(tilt)
        angle = np.arctan2(across, along)
        edge = 1 / np.sqrt((np.cos(angle) / semi_major) ** 2 + (np.sin(angle) / semi_minor) ** 2)
        inside_mm = edge - np.hypot(along, across)  # radial distance to the cut edge, positive inside the hole
        hole = np.clip(inside_mm * samples_per_mm + 0.5, 0, 1)[..., None]
        behind_u, behind_v = ((stage.u[box] - np.float32(shift[0])) / np.float32(mm_per_px[0]) - np.float32(0.5),
                              (stage.v[box] - np.float32(shift[1])) / np.float32(mm_per_px[1]) - np.float32(0.5))
        seen = cv2.remap(live, behind_u, behind_v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        seen *= stage.light[box][..., None]
        rim = 1 - h["rim_darkness"] * np.exp(-(inside_mm * stage.camera_px_per_mm / h["rim_px"]) ** 2)
        out[box] = (out[box] * (1 - hole) + hole * seen) * rim[..., None]
    params.update({f"eye_{name}": value for name, value in h.items()}, eye_hole_semi_major_mm=semi_major)
    return out


def _render_replay(photo: np.ndarray, points: np.ndarray, background: np.ndarray, out_size: tuple[int, int],
                   rng: np.random.Generator, supersample: int, config: ReplayConfig) -> Scene:
    names = ("screen_width_mm", "pitch_mm", "fill_factor", "row_fill", "gamma", "black_level", "brightness",
             "white_point_r", "white_point_b", "backlight_falloff", "reflection", "bezel_mm", "corner_radius_mm",
             "bezel_reflectance")
    p = {name: _uniform(rng, getattr(config, name)) for name in names}
    photo_h, photo_w = photo.shape[:2]
    pitch = p["pitch_mm"]
    columns = max(8, round(p["screen_width_mm"] / pitch))
    rows = max(8, round(p["screen_width_mm"] * photo_h / photo_w / pitch))
    content = (columns * pitch, rows * pitch)
    bezel = p["bezel_mm"]
    stage = _stage(photo, points, background, out_size, rng, supersample, config.scene, content, bezel, None)
    shrinking = columns < photo_w
    shown = cv2.resize(photo, (columns, rows), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    white = p["brightness"] * np.array([p["white_point_r"], 1.0, p["white_point_b"]], np.float32)
    pixels = (p["black_level"] + (1 - p["black_level"]) * (shown.astype(np.float32) / 255) ** p["gamma"]) * white
    samples_per_mm = stage.camera_px_per_mm * supersample
    emission = display_emission(pixels, stage.u, stage.v, pitch, p["fill_factor"], samples_per_mm, p["row_fill"])
    off_centre = ((stage.u / content[0] - 0.5) ** 2 + (stage.v / content[1] - 0.5) ** 2) * 2
    emission *= np.clip(1 - p["backlight_falloff"] * off_centre, 0, 1)[..., None]
    mirrored = cv2.GaussianBlur(cv2.flip(stage.background_out, 1), (0, 0), float(rng.uniform(2, 6)))
    mirrored = cv2.resize(mirrored, stage.background.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    mirrored = mirrored[stage.rows, stage.cols]
    radiance = (emission + (p["bezel_reflectance"] * stage.light)[..., None] + p["reflection"] * mirrored
                + stage.glare[..., None])
    box = (-bezel, -bezel, content[0] + bezel, content[1] + bezel)
    corner = min(p["corner_radius_mm"], (content[0] + 2 * bezel) / 2, (content[1] + 2 * bezel) / 2)
    alpha = _box_alpha(stage.u, stage.v, box, corner, samples_per_mm)
    p.update(stage.params, display_columns=columns, display_rows=rows,
             display_pitch_camera_px=pitch * stage.camera_px_per_mm)
    return Scene(_composite(stage, radiance, alpha), stage.points, p, supersample)


def _render_live(photo: np.ndarray, points: np.ndarray, out_size: tuple[int, int], rng: np.random.Generator,
                 supersample: int, config: LiveConfig) -> Scene:
    """The live photo re-framed by a similarity transform that keeps the frame covered, then mildly relit.

    Only when the face touches the photo's edge does the frame run past the photo (``mirrored_border``).
    """
    width, height = out_size
    photo_h, photo_w = photo.shape[:2]
    centre, _ = _face_box(points)
    roll = _uniform(rng, config.roll_deg)
    scale = _uniform(rng, config.face_scale)
    shift = rng.uniform(*config.face_shift, size=2)
    cos, sin = abs(math.cos(math.radians(roll))), abs(math.sin(math.radians(roll)))
    cover = max((width * cos + height * sin) / photo_w, (width * sin + height * cos) / photo_h)
    frame_ratio = math.sqrt(width * height / (photo_w * photo_h))
    rotation = _rotation(0, 0, roll)[:2, :2]
    out_centre = np.array([(width - 1) / 2, (height - 1) / 2])
    mirrored = False
    for attempt in range(17):
        if attempt < 16:
            zoom = max(frame_ratio * scale, cover)
            target = out_centre + shift * (width, height)
            look_at = centre + rotation.T @ (out_centre - target) / zoom  # photo point at the frame centre
            half = np.array([width * cos + height * sin, width * sin + height * cos]) / (2 * zoom)
            look_at = np.clip(look_at, half - 0.5, np.array([photo_w, photo_h]) - 0.5 - half)
        else:  # the face touches the photo's edge: centre it and let the frame run past the photo (mirrored)
            diagonal = float(np.hypot(*np.ptp(points, axis=0)))
            zoom, look_at, shift, mirrored = min(zoom, 0.9 * min(width, height) / diagonal), centre, shift * 0, True
        affine = np.hstack([zoom * rotation, (out_centre - zoom * rotation @ look_at)[:, None]])
        projected = points @ affine[:, :2].T + affine[:, 2]
        if np.all(projected >= 1) and np.all(projected <= (width - 2, height - 2)):
            break
        scale, shift = scale * 0.9, shift * 0.7
    else:
        raise SimulationInputError(f"the face cannot be framed inside a {width}x{height} output; use a larger out_size")
    shown = _fit_content(photo, zoom * supersample)
    # A pixel x' of the shrunk photo is x = (x' + 0.5) / ratio - 0.5 of the original.
    ratio = np.array([shown.shape[1] / photo_w, shown.shape[0] / photo_h])
    from_shown = np.array([[1 / ratio[0], 0, 0.5 / ratio[0] - 0.5], [0, 1 / ratio[1], 0.5 / ratio[1] - 0.5], [0, 0, 1]])
    to_scene = (camera_to_scene(supersample) @ np.vstack([affine, [0, 0, 1]]) @ from_shown)[:2]
    scene = cv2.warpAffine(srgb_to_linear(shown), to_scene, (width * supersample, height * supersample),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    p = {"face_scale": scale, "face_shift_x": float(shift[0]), "face_shift_y": float(shift[1]), "roll_deg": roll,
         "zoom": zoom, "mirrored_border": mirrored}
    lighting = SceneConfig(illumination=config.illumination, light_gradient=config.light_gradient, glare=(0.0, 0.0))
    light, _, light_params = _smooth_fields(rng, lighting, scene.shape[:2], slice(0, scene.shape[0]),
                                            slice(0, scene.shape[1]))
    p.update({name: light_params[name] for name in ("illumination", "light_gradient", "light_gradient_deg")})
    return Scene(scene * light[..., None], projected, p, supersample)


# ---------------------------------------------------------------------------------------------------------------
# Entry points


def _check_image(name: str, image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        found = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                 else type(image).__name__)
        raise SimulationInputError(f"{name} must be a uint8 RGB array of shape (H, W, 3), not a {found}")
    if min(image.shape[:2]) < 8:
        raise SimulationInputError(f"{name} must be at least 8x8 pixels, not {image.shape[1]}x{image.shape[0]}")
    return image


def _check_points(points: object, photo: np.ndarray) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 2 or not np.all(np.isfinite(array)):
        raise SimulationInputError(f"points must be a finite (N, 2) array of x, y photo pixels with N >= 2, "
                                   f"not shape {array.shape}")
    height, width = photo.shape[:2]
    outside = (array[:, 0] < -0.5) | (array[:, 0] > width - 0.5) | (array[:, 1] < -0.5) | (array[:, 1] > height - 0.5)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise SimulationInputError(f"point {first} at {array[first].tolist()} lies outside the {width}x{height} "
                                   "photo; points are (x, y) in photo pixels")
    if max(array.max(axis=0) - array.min(axis=0)) < 2:
        raise SimulationInputError("points must span at least 2 photo pixels (the face's extent sets its scale)")
    return array


def _check_out_size(out_size: object) -> tuple[int, int]:
    try:
        width, height = (int(value) for value in out_size)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise SimulationInputError(f"out_size must be (width, height), not {out_size!r}") from None
    if width < 16 or height < 16 or (width, height) != tuple(out_size):  # type: ignore[arg-type]
        raise SimulationInputError(f"out_size must be two integers >= 16, not {out_size!r}")
    return width, height


def render_scene(kind: str, photo: np.ndarray, points: np.ndarray, background: np.ndarray | None,
                 out_size: tuple[int, int], rng: np.random.Generator, *, supersample: int = 3,
                 config: LiveConfig | PrintConfig | ReplayConfig | CutPhotoConfig | None = None) -> Scene:
    """The supersampled linear scene of ``kind`` ("live" or one of :data:`ATTACK_TYPES`), before the camera.

    ``photo`` is uint8 RGB; ``points`` (N, 2) are face points in its pixels (e.g. YuNet's 5 landmarks and the
    4 face-box corners); ``background`` (uint8 RGB, unused for "live") is the room the medium is held in;
    ``out_size`` is the camera's (width, height). The returned points are in output pixel coordinates.
    """
    if kind not in KINDS:
        raise UnknownKindError(f"unknown kind {kind!r}; valid kinds are {', '.join(KINDS)}")
    photo = _check_image("photo", photo)
    points = _check_points(points, photo)
    out_size = _check_out_size(out_size)
    if not isinstance(supersample, (int, np.integer)) or isinstance(supersample, bool) or not 1 <= supersample <= 8:
        raise SimulationInputError(f"supersample must be an integer from 1 to 8 (2 to 4 is usual), not {supersample!r}")
    config = CONFIG_TYPES[kind]() if config is None else config
    if not isinstance(config, CONFIG_TYPES[kind]):
        raise SimulationInputError(f"config for {kind!r} must be a {CONFIG_TYPES[kind].__name__}, "
                                   f"not {type(config).__name__}")
    if kind == "live":
        return _render_live(photo, points, out_size, rng, supersample, config)
    background = _check_image("background", background)
    if kind == "print":
        return _render_print(photo, points, background, out_size, rng, supersample, config)
    if kind == "cut_photo":
        return _render_print(photo, points, background, out_size, rng, supersample, config.print, holes=config)
    return _render_replay(photo, points, background, out_size, rng, supersample, config)


def simulate(kind: str, photo: np.ndarray, points: np.ndarray, background: np.ndarray | None,
             out_size: tuple[int, int], rng: np.random.Generator, *, supersample: int = 3,
             config: LiveConfig | PrintConfig | ReplayConfig | CutPhotoConfig | None = None,
             camera: CameraConfig = CameraConfig()) -> Simulated:
    """Render ``kind`` with :func:`render_scene` and photograph it with the shared camera model.

    ``params`` holds every sampled value as plain Python values, the camera's prefixed ``camera_``, and the
    derived physical scale (``camera_px_per_mm``, ``halftone_period_camera_px``, ``display_pitch_camera_px``).
    """
    scene = render_scene(kind, photo, points, background, out_size, rng, supersample=supersample, config=config)
    image, camera_params = capture(scene.linear, supersample, rng, camera)
    params = {"kind": kind, **_plain(scene.params), **{f"camera_{key}": value for key, value in camera_params.items()}}
    return Simulated(image, scene.points.astype(np.float64), params, kind)


def _plain(params: dict) -> dict:
    """NumPy scalars to Python values, so params print, compare and serialize plainly."""
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in params.items()}

"""The scene an attack is photographed in: a flat or bent medium posed in 3D before a pinhole camera, lit, and
composited into a background, on a supersampled grid in linear light.

:func:`stage_medium` poses the medium so the face keeps about its size in the frame, casts a ray per scene sample
to find the medium's (u, v) in mm, and prepares background, lighting and glare; the renderers of
:mod:`fasutils.simulation.attacks` paint the medium's radiance over (u, v) and :func:`composite` lays it over the
background. Physical sizes are in mm and the scale is explicit: ``camera_px_per_mm`` at the face follows from how
large the face must appear, so halftone periods and display pitches in camera pixels follow from lpi and pitch in mm.

Moiré is never drawn: it appears when the camera point-samples the halftone or sub-pixel grid. Structure finer than
the scene grid itself is attenuated (a Gaussian anti-alias of ``AA_SIGMA`` scene samples, :func:`antialias_gain`)
instead of aliasing there; at such scales the optics would remove it anyway. Introduced in
``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fasutils.core.errors import SimulationError
from fasutils.simulation.camera import srgb_to_linear
from fasutils.simulation.configs import SceneConfig, sample_range

AA_SIGMA = 0.5  # scene samples: anti-alias width of structure rendered on the scene grid
_MAP_STEP = 8  # scene samples between exactly ray-cast map points (linear in between)
_FAR_MM = 1e5  # medium coordinate given to rays that miss the medium


@dataclass(frozen=True)
class Scene:
    """A rendered scene before the camera: supersampled linear RGB, points in output px, sampled parameters."""

    linear: np.ndarray
    points: np.ndarray
    params: dict
    supersample: int


def antialias_gain(frequency: float) -> float:
    """How much of a modulation at ``frequency`` (cycles per scene sample) the scene grid may keep."""
    if frequency > 0.75:  # would alias to below 0.25 cycles/sample; the optics would remove it anyway
        return 0.0
    return math.exp(-2.0 * math.pi ** 2 * AA_SIGMA ** 2 * frequency ** 2)


# ---------------------------------------------------------------------------------------------------------------
# Geometry: a flat or cylindrically bent sheet in front of a pinhole camera


def rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The 3x3 rotation by pitch about x, then yaw about y, then roll about z (degrees)."""
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
class Stage:
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


def face_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (x, y) and longer side of the box around ``points``."""
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2, float(max(high - low))


def _covers_frame(sheet: _Sheet, content_mm: tuple[float, float], out_size: tuple[int, int]) -> bool:
    """Whether the medium's content (its outline, bent or not, as projected) contains all four frame corners."""
    steps, ones = np.linspace(0, 1, 33)[:-1], np.ones(32)
    u1, v1 = content_mm
    edges = ((steps * u1, 0 * ones), (u1 * ones, steps * v1), (u1 - steps * u1, v1 * ones), (0 * ones, v1 - steps * v1))
    outline = np.concatenate([np.stack(edge, 1) for edge in edges])
    projected = sheet.project(outline)
    if not np.all(np.isfinite(projected)):
        return False
    contour = projected.astype(np.float32).reshape(-1, 1, 2)
    width, height = out_size
    corners = ((-0.5, -0.5), (width - 0.5, -0.5), (width - 0.5, height - 0.5), (-0.5, height - 0.5))
    return all(cv2.pointPolygonTest(contour, corner, False) > 0 for corner in corners)


def _place_sheet(photo_shape: tuple[int, ...], points: np.ndarray, mm_per_px: tuple[float, float],
                 out_size: tuple[int, int], rng: np.random.Generator, config: SceneConfig,
                 bend: tuple[float, float] | None, light: np.ndarray,
                 framing: float | None = None) -> tuple[_Sheet, np.ndarray, dict]:
    """Pose the sheet so the face keeps about its size relative to the frame and every point stays in view.

    The face appears ``framing x face_scale`` times its photo size (default: the photo's size relative to the
    frame). With ``config.fill_frame`` the content must also cover the frame: angles and shift shrink until it
    does.
    """
    width, height = out_size
    photo_h, photo_w = photo_shape[:2]
    uv_points = (points + 0.5) * np.asarray(mm_per_px)
    centre_px, size_px = face_box(points)
    centre_mm = (centre_px + 0.5) * np.asarray(mm_per_px)
    size_mm = size_px * math.sqrt(mm_per_px[0] * mm_per_px[1])
    frame_ratio = math.sqrt(width * height / (photo_w * photo_h)) if framing is None else framing
    content_mm = (photo_w * mm_per_px[0], photo_h * mm_per_px[1])
    hfov = sample_range(rng, config.hfov_deg)
    focal = (width / 2) / math.tan(math.radians(hfov) / 2)
    angles = {name: sample_range(rng, getattr(config, name)) for name in ("yaw_deg", "pitch_deg", "roll_deg")}
    scale = sample_range(rng, config.face_scale)
    shift = rng.uniform(*config.face_shift, size=2)
    principal = ((width - 1) / 2, (height - 1) / 2)
    radius, sign = bend if bend is not None else (math.inf, 1.0)
    for _ in range(16):
        px_per_mm = size_px * frame_ratio * scale / size_mm
        distance = focal / px_per_mm
        target = np.asarray(principal) + shift * (width, height)
        translation = np.array([*((target - principal) * distance / focal), distance])
        pivot = np.array([centre_mm[0], centre_mm[1], 0.0])  # the bend axis passes through the face centre
        sheet = _Sheet(rotation_matrix(**angles), translation, pivot, focal, principal, radius, sign,
                       float(centre_mm[0]))
        projected = sheet.project(uv_points)
        in_view = (np.all(np.isfinite(projected)) and np.all(projected >= 1)
                   and np.all(projected <= (width - 2, height - 2)))
        if in_view and (not config.fill_frame or _covers_frame(sheet, content_mm, out_size)):
            break
        if in_view:  # in view, but the medium's edge shows: hold it straighter and centred
            angles, shift = {name: angle * 0.7 for name, angle in angles.items()}, shift * 0.7
        else:
            scale, shift = scale * 0.9, shift * 0.7
    else:
        raise SimulationError(f"the face (points spanning {size_px:.0f} photo px) cannot be placed inside a "
                              f"{width}x{height} output{' with the medium filling it' if config.fill_frame else ''}"
                              "; use a larger out_size, a smaller face_scale or (to fill) a larger photo")
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


def lighting_fields(rng: np.random.Generator, config: SceneConfig, shape: tuple[int, int], rows: slice,
                    cols: slice) -> tuple[np.ndarray, np.ndarray, dict]:
    """Illumination with a linear gradient, and an additive glare lobe, over a region of the scene."""
    height, width = shape
    params = {name: sample_range(rng, getattr(config, name)) for name in ("illumination", "light_gradient")}
    params["light_gradient_deg"] = float(rng.uniform(0, 360))
    params.update({name: sample_range(rng, getattr(config, name)) for name in ("glare", "glare_radius")})
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


def stage_medium(photo: np.ndarray, points: np.ndarray, background: np.ndarray, out_size: tuple[int, int],
                 rng: np.random.Generator, supersample: int, config: SceneConfig, content_mm: tuple[float, float],
                 margin_mm: float, bend: tuple[float, float] | None, framing: float | None = None) -> Stage:
    """Pose the medium, cast rays, and prepare background and lighting for the region the medium covers.

    ``framing``: output px per photo px of the face at ``face_scale`` 1 (default: the photo fitted to the frame).
    """
    mm_per_px = (content_mm[0] / photo.shape[1], content_mm[1] / photo.shape[0])
    light_dir = _unit_light(sample_range(rng, config.light_angle_deg), float(rng.uniform(0, 360)))
    sheet, projected, params = _place_sheet(photo.shape, points, mm_per_px, out_size, rng, config, bend, light_dir,
                                            framing)
    maps = _ray_maps(sheet, out_size, supersample, light_dir)
    inside = ((maps[..., 0] > -margin_mm - 1) & (maps[..., 0] < content_mm[0] + margin_mm + 1)
              & (maps[..., 1] > -margin_mm - 1) & (maps[..., 1] < content_mm[1] + margin_mm + 1))
    row_any, col_any = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if row_any.size == 0:  # cannot happen while the face points project inside, kept as a clear failure
        raise SimulationError("the medium does not appear in the output; check points and out_size")
    rows, cols = slice(int(row_any[0]), int(row_any[-1]) + 1), slice(int(col_any[0]), int(col_any[-1]) + 1)
    blur_px = sample_range(rng, config.background_blur_px)
    scene_bg, out_bg = _background(background, out_size, supersample, rng, blur_px)
    light, glare, light_params = lighting_fields(rng, config, scene_bg.shape[:2], rows, cols)
    probe = sheet.project(sheet.pivot[:2] + np.array([[0, 0], [0.5, 0], [0, 0.5]]))
    camera_px_per_mm = float(np.linalg.norm(probe[1:] - probe[0], axis=1).mean() / 0.5)
    params.update(light_params, camera_px_per_mm=camera_px_per_mm)
    region = maps[rows, cols]
    return Stage(sheet, rows, cols, region[..., 0], region[..., 1], region[..., 2], light, glare, scene_bg, out_bg,
                 projected, camera_px_per_mm, params)


def rounded_box_alpha(u: np.ndarray, v: np.ndarray, box: tuple[float, float, float, float], corner_mm: float,
                      samples_per_mm: float) -> np.ndarray:
    """Anti-aliased coverage of a rounded rectangle (u0, v0, u1, v1) in mm."""
    u0, v0, u1, v1 = box
    half = np.array([(u1 - u0) / 2, (v1 - v0) / 2], np.float32)
    qx = np.abs(u - (u0 + u1) / 2) - (half[0] - corner_mm)
    qy = np.abs(v - (v0 + v1) / 2) - (half[1] - corner_mm)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - corner_mm
    return np.clip(0.5 - outside * np.float32(samples_per_mm), 0.0, 1.0)


def composite(stage: Stage, radiance: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The staged background with the medium's ``radiance`` laid over its region by coverage ``alpha`` (in place)."""
    scene = stage.background
    region = scene[stage.rows, stage.cols]
    scene[stage.rows, stage.cols] = region + alpha[..., None] * (radiance - region)
    return scene


def fit_content(photo: np.ndarray, samples_per_px: float) -> np.ndarray:
    """Shrink the photo (area averaging) when one photo pixel would span less than one scene sample."""
    if samples_per_px >= 1:
        return photo
    size = (max(8, round(photo.shape[1] * samples_per_px)), max(8, round(photo.shape[0] * samples_per_px)))
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA)

"""Physically motivated spoof attacks (print, replay, cut photo) and live captures, rendered and photographed.

Each attack paints its medium on a sheet posed by :func:`fasutils.simulation.scene.stage_medium`: paper with
halftoned inks (:mod:`fasutils.simulation.halftone`), optionally with eye holes through which the live photo shows,
or a display with RGB sub-pixels (:mod:`fasutils.simulation.display`) behind reflecting glass and a bezel. A live
photo is re-framed and relit instead. :func:`simulate` photographs either with the same camera model
(:func:`fasutils.simulation.camera.capture`), so the only difference left between live and spoof is the attack.

Introduced in ``01_fft_spoof_artifacts.ipynb``. Rigid 3D masks are out of scope: they cannot be rendered
believably from one photo.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from fasutils.core.errors import SimulationError
from fasutils.simulation.camera import CameraConfig, camera_to_scene, capture, srgb_to_linear
from fasutils.simulation.configs import (
    CONFIG_TYPES,
    KINDS,
    CutPhotoConfig,
    LiveConfig,
    PrintConfig,
    ReplayConfig,
    SceneConfig,
    Simulated,
    sample_range,
)
from fasutils.simulation.display import display_emission
from fasutils.simulation.halftone import (
    INKS,
    SCREEN_ANGLES_DEG,
    am_dots,
    blue_noise_mask,
    coverage_to_threshold,
    fm_screen,
    ink_planes_reflectance,
    print_coverage,
)
from fasutils.simulation.scene import (
    Scene,
    Stage,
    composite,
    face_box,
    fit_content,
    lighting_fields,
    rotation_matrix,
    rounded_box_alpha,
    stage_medium,
)

# ---------------------------------------------------------------------------------------------------------------
# Renderers


def _paper_texture(stage: Stage, extent: tuple[float, float, float, float], rng: np.random.Generator,
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
    params = {name: sample_range(rng, getattr(config, name)) for name in names}
    params["screen"] = "fm" if rng.random() < config.fm_probability else "am"
    params["lpi"] = sample_range(rng, config.lpi)
    params["fm_dot_mm"] = sample_range(rng, config.fm_dot_mm)
    bent = rng.random() < config.bend_probability
    radius, sign = sample_range(rng, config.bend_radius_mm), float(rng.choice([-1.0, 1.0]))
    params["bend"] = (radius, sign) if bent else None
    return params


def _render_print(photo: np.ndarray, points: np.ndarray, background: np.ndarray, out_size: tuple[int, int],
                  rng: np.random.Generator, supersample: int, config: PrintConfig,
                  holes: CutPhotoConfig | None = None, framing: float | None = None) -> Scene:
    p = _sample_print(rng, config)
    photo_h, photo_w = photo.shape[:2]
    content = (p["print_width_mm"], p["print_width_mm"] * photo_h / photo_w)
    border = p["border_mm"]
    stage = stage_medium(photo, points, background, out_size, rng, supersample, config.scene, content, border,
                         p.pop("bend"), framing)
    samples_per_mm = stage.camera_px_per_mm * supersample
    printed = fit_content(photo, samples_per_mm * content[0] / photo_w)
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
        inks = [am_dots(planes[..., i], planes[..., 4 + i], stage.u, stage.v, period_mm, SCREEN_ANGLES_DEG[i],
                        samples_per_mm) for i in range(4)]
    else:
        masks = [blue_noise_mask(rng) for _ in INKS]
        inks = [fm_screen(planes[..., i], stage.u, stage.v, p["fm_dot_mm"], samples_per_mm, masks[i])
                for i in range(4)]
    extent = (-border, -border, content[0] + border, content[1] + border)
    reflectance = ink_planes_reflectance(inks, paper, p["paper_black"])
    reflectance *= _paper_texture(stage, extent, rng, p["paper_texture"], p["paper_texture_mm"])[..., None]
    radiance = reflectance * (stage.light * stage.shade)[..., None] + stage.glare[..., None]
    if holes is not None:
        radiance = _cut_holes(radiance, photo, points, stage, rng, holes, content, supersample, p)
    alpha = rounded_box_alpha(stage.u, stage.v, extent, 0.0, samples_per_mm)
    p.update(stage.params, halftone_period_mm=period_mm, halftone_period_camera_px=period_mm * stage.camera_px_per_mm,
             fm_dot_camera_px=p["fm_dot_mm"] * stage.camera_px_per_mm)
    return Scene(composite(stage, radiance, alpha), stage.points, p, supersample)


def _cut_holes(radiance: np.ndarray, photo: np.ndarray, points: np.ndarray, stage: Stage, rng: np.random.Generator,
               config: CutPhotoConfig, content_mm: tuple[float, float], supersample: int, params: dict) -> np.ndarray:
    """Elliptical eye holes showing the live photo, offset by parallax, with a dark cut edge and shadow."""
    try:
        eyes = points[list(config.eye_indices)]
    except IndexError:
        raise SimulationError(f"cut_photo needs the eyes at rows {config.eye_indices} of points, but only "
                              f"{len(points)} points were given") from None
    mm_per_px = np.array([content_mm[0] / photo.shape[1], content_mm[1] / photo.shape[0]])
    eyes_mm = (eyes + 0.5) * mm_per_px
    eye_distance = float(np.linalg.norm(eyes_mm[1] - eyes_mm[0]))
    if eye_distance <= 0:
        raise SimulationError(f"the two eye points {eyes.tolist()} coincide; check eye_indices")
    names = ("hole_size", "hole_aspect", "parallax_px", "rim_px", "rim_darkness")
    h = {name: sample_range(rng, getattr(config, name)) for name in names}
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
                   rng: np.random.Generator, supersample: int, config: ReplayConfig,
                   framing: float | None = None) -> Scene:
    names = ("screen_width_mm", "pitch_mm", "fill_factor", "row_fill", "gamma", "black_level", "brightness",
             "white_point_r", "white_point_b", "backlight_falloff", "reflection", "bezel_mm", "corner_radius_mm",
             "bezel_reflectance")
    p = {name: sample_range(rng, getattr(config, name)) for name in names}
    photo_h, photo_w = photo.shape[:2]
    pitch = p["pitch_mm"]
    columns = max(8, round(p["screen_width_mm"] / pitch))
    rows = max(8, round(p["screen_width_mm"] * photo_h / photo_w / pitch))
    content = (columns * pitch, rows * pitch)
    bezel = p["bezel_mm"]
    stage = stage_medium(photo, points, background, out_size, rng, supersample, config.scene, content, bezel, None,
                         framing)
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
    alpha = rounded_box_alpha(stage.u, stage.v, box, corner, samples_per_mm)
    p.update(stage.params, display_columns=columns, display_rows=rows,
             display_pitch_camera_px=pitch * stage.camera_px_per_mm)
    return Scene(composite(stage, radiance, alpha), stage.points, p, supersample)


def _render_live(photo: np.ndarray, points: np.ndarray, out_size: tuple[int, int], rng: np.random.Generator,
                 supersample: int, config: LiveConfig) -> Scene:
    """The live photo re-framed by a similarity transform that keeps the frame covered, then mildly relit.

    Only when the face touches the photo's edge does the frame run past the photo (``mirrored_border``).
    """
    width, height = out_size
    photo_h, photo_w = photo.shape[:2]
    centre, _ = face_box(points)
    roll = sample_range(rng, config.roll_deg)
    scale = sample_range(rng, config.face_scale)
    shift = rng.uniform(*config.face_shift, size=2)
    cos, sin = abs(math.cos(math.radians(roll))), abs(math.sin(math.radians(roll)))
    cover = max((width * cos + height * sin) / photo_w, (width * sin + height * cos) / photo_h)
    frame_ratio = math.sqrt(width * height / (photo_w * photo_h))
    rotation = rotation_matrix(0, 0, roll)[:2, :2]
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
        raise SimulationError(f"the face cannot be framed inside a {width}x{height} output; use a larger out_size")
    shown = fit_content(photo, zoom * supersample)
    # A pixel x' of the shrunk photo is x = (x' + 0.5) / ratio - 0.5 of the original.
    ratio = np.array([shown.shape[1] / photo_w, shown.shape[0] / photo_h])
    from_shown = np.array([[1 / ratio[0], 0, 0.5 / ratio[0] - 0.5], [0, 1 / ratio[1], 0.5 / ratio[1] - 0.5], [0, 0, 1]])
    to_scene = (camera_to_scene(supersample) @ np.vstack([affine, [0, 0, 1]]) @ from_shown)[:2]
    scene = cv2.warpAffine(srgb_to_linear(shown), to_scene, (width * supersample, height * supersample),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    p = {"face_scale": scale, "face_shift_x": float(shift[0]), "face_shift_y": float(shift[1]), "roll_deg": roll,
         "zoom": zoom, "mirrored_border": mirrored}
    lighting = SceneConfig(illumination=config.illumination, light_gradient=config.light_gradient, glare=(0.0, 0.0))
    light, _, light_params = lighting_fields(rng, lighting, scene.shape[:2], slice(0, scene.shape[0]),
                                             slice(0, scene.shape[1]))
    p.update({name: light_params[name] for name in ("illumination", "light_gradient", "light_gradient_deg")})
    return Scene(scene * light[..., None], projected, p, supersample)


# ---------------------------------------------------------------------------------------------------------------
# Entry points


def _check_image(name: str, image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        found = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                 else type(image).__name__)
        raise SimulationError(f"{name} must be a uint8 RGB array of shape (H, W, 3), not a {found}")
    if min(image.shape[:2]) < 8:
        raise SimulationError(f"{name} must be at least 8x8 pixels, not {image.shape[1]}x{image.shape[0]}")
    return image


def _check_points(points: object, photo: np.ndarray) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 2 or not np.all(np.isfinite(array)):
        raise SimulationError(f"points must be a finite (N, 2) array of x, y photo pixels with N >= 2, "
                              f"not shape {array.shape}")
    height, width = photo.shape[:2]
    outside = (array[:, 0] < -0.5) | (array[:, 0] > width - 0.5) | (array[:, 1] < -0.5) | (array[:, 1] > height - 0.5)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise SimulationError(f"point {first} at {array[first].tolist()} lies outside the {width}x{height} "
                              "photo; points are (x, y) in photo pixels")
    if max(array.max(axis=0) - array.min(axis=0)) < 2:
        raise SimulationError("points must span at least 2 photo pixels (the face's extent sets its scale)")
    return array


def _check_out_size(out_size: object) -> tuple[int, int]:
    try:
        width, height = (int(value) for value in out_size)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise SimulationError(f"out_size must be (width, height), not {out_size!r}") from None
    if width < 16 or height < 16 or (width, height) != tuple(out_size):  # type: ignore[arg-type]
        raise SimulationError(f"out_size must be two integers >= 16, not {out_size!r}")
    return width, height


def render_scene(kind: str, photo: np.ndarray, points: np.ndarray, background: np.ndarray | None,
                 out_size: tuple[int, int], rng: np.random.Generator, *, supersample: int = 3,
                 config: LiveConfig | PrintConfig | ReplayConfig | CutPhotoConfig | None = None,
                 framing: float | None = None) -> Scene:
    """The supersampled linear scene of ``kind`` ("live" or a simulated attack, :data:`KINDS`), before the camera.

    ``photo`` is uint8 RGB; ``points`` (N, 2) are face points in its pixels (e.g. YuNet's 5 landmarks and the
    4 face-box corners); ``background`` (uint8 RGB, unused for "live") is the room the medium is held in;
    ``out_size`` is the camera's (width, height). The returned points are in output pixel coordinates.
    ``framing`` (attacks) is how many output px a photo px of the face spans at ``face_scale`` 1: give it when
    ``photo`` is a cut-out of a larger frame, so the face keeps the size it has in a live capture of that frame
    (default: ``photo`` fitted to the output).
    """
    if kind not in KINDS:
        raise SimulationError(f"unknown kind {kind!r}; valid kinds are {', '.join(KINDS)}")
    photo = _check_image("photo", photo)
    points = _check_points(points, photo)
    out_size = _check_out_size(out_size)
    if not isinstance(supersample, (int, np.integer)) or isinstance(supersample, bool) or not 1 <= supersample <= 8:
        raise SimulationError(f"supersample must be an integer from 1 to 8 (2 to 4 is usual), not {supersample!r}")
    config = CONFIG_TYPES[kind]() if config is None else config
    if not isinstance(config, CONFIG_TYPES[kind]):
        raise SimulationError(f"config for {kind!r} must be a {CONFIG_TYPES[kind].__name__}, "
                              f"not {type(config).__name__}")
    if kind == "live":
        return _render_live(photo, points, out_size, rng, supersample, config)
    background = _check_image("background", background)
    if kind == "print":
        return _render_print(photo, points, background, out_size, rng, supersample, config, framing=framing)
    if kind == "cut_photo":
        return _render_print(photo, points, background, out_size, rng, supersample, config.print, holes=config,
                             framing=framing)
    return _render_replay(photo, points, background, out_size, rng, supersample, config, framing)


def simulate(kind: str, photo: np.ndarray, points: np.ndarray, background: np.ndarray | None,
             out_size: tuple[int, int], rng: np.random.Generator, *, supersample: int = 3,
             config: LiveConfig | PrintConfig | ReplayConfig | CutPhotoConfig | None = None,
             camera: CameraConfig | None = None, framing: float | None = None) -> Simulated:
    """Render ``kind`` with :func:`render_scene` and photograph it with the shared camera model.

    ``camera`` defaults to ``CameraConfig()``. ``params`` holds every sampled value as plain Python values, the
    camera's prefixed ``camera_``, and the derived physical scale (``camera_px_per_mm``,
    ``halftone_period_camera_px``, ``display_pitch_camera_px``).
    """
    scene = render_scene(kind, photo, points, background, out_size, rng, supersample=supersample, config=config,
                         framing=framing)
    image, camera_params = capture(scene.linear, supersample, rng, CameraConfig() if camera is None else camera)
    params = {"kind": kind, **_plain(scene.params), **{f"camera_{key}": value for key, value in camera_params.items()}}
    return Simulated(image, scene.points.astype(np.float64), params, kind)


def _plain(params: dict) -> dict:
    """NumPy scalars to Python values, so params print, compare and serialize plainly."""
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in params.items()}

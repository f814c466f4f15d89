"""What a simulated image is made from and what comes back: the parameter ranges of live re-framing and of each
attack (print, replay, cut photo), and the photographed result.

Every range is (low, high), sampled uniformly per image (:func:`sample_range`); pin one with
:func:`fasutils.simulation.sweeps.fixed`. Introduced in ``01_fft_spoof_artifacts.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fasutils.simulation.camera import Range

SIMULATED_ATTACKS = ("print", "replay", "cut_photo")  # the attack types the simulation renders
KINDS = ("live", *SIMULATED_ATTACKS)


def sample_range(rng: np.random.Generator, bounds: Range) -> float:
    """One value drawn uniformly from the (low, high) range ``bounds``, as a Python float."""
    return float(rng.uniform(*bounds))


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
    fill_frame: bool = False  # a tight attack: the medium's content covers the whole frame (no border in view)


@dataclass(frozen=True)
class BackdropConfig:
    """A matted person placed before a backdrop: a scene (as the attacks are held in) or a plain wall, relit."""

    plain_share: float = 0.2  # chance of a plain wall (a studio-like backdrop) instead of a scene
    scene_zoom: Range = (1.0, 2.0)  # how much of the scene the frame shows: 1 all of it (short side), 2 half
    blur_px: Range = (0.5, 4.0)  # defocus of the backdrop behind the person, photo px
    wall_value: Range = (0.25, 0.85)  # plain wall: brightness (HSV value, sRGB)
    wall_saturation: Range = (0.0, 0.25)
    wall_gradient: Range = (0.0, 0.3)  # relative change of its brightness across the photo
    illumination: Range = (0.7, 1.25)  # light on the person relative to the backdrop's radiance
    colour_cast: Range = (0.0, 0.5)  # how far the person takes on the backdrop's mean colour (0: not at all)


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
class Simulated:
    """A photographed live or spoof image: uint8 RGB, points (N, 2) in output px, all sampled parameters."""

    image: np.ndarray
    points: np.ndarray
    params: dict
    kind: str

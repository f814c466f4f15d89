import dataclasses
import math

import cv2
import numpy as np
import pytest

from fasutils.core.errors import FasError, SimulationError
from fasutils.simulation import attacks as sim
from fasutils.simulation import configs, display, halftone
from fasutils.simulation.camera import CameraConfig, capture, srgb_to_linear

MILD_CAMERA = CameraConfig(exposure=(1, 1), white_balance=(1, 1), psf_sigma_px=(0.4, 0.4), motion_probability=0.0,
                           shot_noise=(1e-4, 1e-4), read_noise=(0.001, 0.001), jpeg_quality=(95, 95))
IDEAL_CAMERA = CameraConfig(exposure=(1, 1), white_balance=(1, 1), psf_sigma_px=(0.25, 0.25), motion_probability=0.0,
                            shot_noise=(0, 0), read_noise=(0, 0), demosaic=("bilinear",), jpeg_quality=None)
# A frontal, evenly lit medium with the face at its original size: derived periods are then exact in the output.
FRONTAL = configs.SceneConfig(face_scale=(1, 1), face_shift=(0, 0), yaw_deg=(0, 0), pitch_deg=(0, 0), roll_deg=(0, 0),
                              illumination=(1, 1), light_gradient=(0, 0), glare=(0, 0), background_blur_px=(0, 0))
NOSE = 2  # YuNet order: right eye, left eye, nose tip, right and left mouth corners; then the box corners


def face_photo(size=160, skin=(215, 170, 140), eye=(40, 70, 150), eye_axes=None):
    """A synthetic face: a skin ellipse on a gradient, eyes, a black nose dot, a mouth; with its 9 points."""
    ramp = np.linspace(40, 120, size, dtype=np.float32)
    photo = np.stack([np.tile(ramp, (size, 1)), np.tile(ramp[:, None], (1, size)), np.full((size, size), 90)],
                     axis=-1).astype(np.uint8)
    c, rx, ry = size // 2, size // 5, size // 4
    cv2.ellipse(photo, (c, c), (rx, ry), 0, 0, 360, skin, -1)
    eyes = [(c - size // 12, c - size // 14), (c + size // 12, c - size // 14)]
    for centre in eyes:
        cv2.ellipse(photo, centre, eye_axes or (size // 40, size // 80), 0, 0, 360, eye, -1)
    cv2.circle(photo, (c, c), 2, (0, 0, 0), -1)
    mouth = [(c - size // 20, c + size // 9), (c + size // 20, c + size // 9)]
    cv2.line(photo, mouth[0], mouth[1], (150, 40, 40), 2)
    box = [(c - rx, c - ry), (c + rx, c - ry), (c + rx, c + ry), (c - rx, c + ry)]
    return photo, np.array(eyes + [(c, c)] + mouth + box, dtype=float)


@pytest.fixture(scope="module")
def background():
    noise = np.random.default_rng(0).random((60, 80, 3)).astype(np.float32)
    return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 4), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def peak(image, min_radius=3):
    """(radius in cycles/px, angle in degrees counter-clockwise, peak / median) of the strongest off-centre peak."""
    size = image.shape[0]
    window = np.outer(np.hanning(size), np.hanning(image.shape[1]))
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2((image - image.mean()) * window)))
    fy, fx = np.meshgrid(np.fft.fftshift(np.fft.fftfreq(size)), np.fft.fftshift(np.fft.fftfreq(image.shape[1])),
                         indexing="ij")
    spectrum[np.hypot(fy, fx) < min_radius / size] = 0
    row, col = np.unravel_index(int(np.argmax(spectrum)), spectrum.shape)
    return (float(np.hypot(fx[row, col], fy[row, col])), math.degrees(math.atan2(-fy[row, col], fx[row, col])),
            float(spectrum.max() / np.median(spectrum)))


def page_grid(size, px_per_mm):
    v, u = (np.mgrid[0:size, 0:size].astype(np.float32) + 0.5) / px_per_mm
    return u, v


@pytest.mark.parametrize("ink", range(4))
def test_am_screen_peaks_at_the_screen_frequency_and_angle_of_each_ink(ink):
    u, v = page_grid(256, px_per_mm=40)
    dots = halftone.am_screen(0.5, u, v, lpi=100, angle_deg=halftone.SCREEN_ANGLES_DEG[ink], px_per_mm=40)
    assert dots.mean() == pytest.approx(0.5, abs=0.02)
    radius, angle, _ = peak(dots)
    assert radius == pytest.approx(100 / 25.4 / 40, abs=1.5 / 256)  # lines per mm / samples per mm
    assert (angle - halftone.SCREEN_ANGLES_DEG[ink] + 2) % 90 < 4  # the dot lattice repeats every 90 degrees


@pytest.mark.parametrize("coverage", [0.1, 0.3, 0.7, 0.9])
def test_screens_print_the_requested_coverage(coverage):
    u, v = page_grid(256, px_per_mm=40)
    assert halftone.am_screen(coverage, u, v, 100, 15, 40).mean() == pytest.approx(coverage, abs=0.02)
    mask = halftone.blue_noise_mask(np.random.default_rng(0))
    assert halftone.fm_screen(coverage, u, v, 0.05, 40, mask).mean() == pytest.approx(coverage, abs=0.02)


def test_fm_screen_has_no_screen_peak():
    u, v = page_grid(256, px_per_mm=40)
    am = halftone.am_screen(0.5, u, v, 100, 45, 40)
    fm = halftone.fm_screen(0.5, u, v, 0.1, 40, halftone.blue_noise_mask(np.random.default_rng(3)))
    assert fm.std() > 0.4  # resolved dots, not a flat tone
    assert peak(fm)[2] < peak(am)[2] / 10


def test_inks_mix_subtractively_and_black_sets_the_dynamic_range():
    paper = np.array([0.9, 0.9, 0.9], np.float32)
    solid = np.eye(4, dtype=np.float32)
    reflectance = halftone.ink_reflectance(solid, paper, black=0.02)
    assert np.argmin(reflectance[0]) == 0 and np.argmin(reflectance[1]) == 1 and np.argmin(reflectance[2]) == 2
    np.testing.assert_allclose(reflectance[3], 0.02, rtol=1e-5)
    overprint = halftone.ink_reflectance(np.array([1, 1, 0, 0], np.float32), paper, black=0.02)
    np.testing.assert_allclose(overprint, reflectance[0] * reflectance[1] / paper, rtol=1e-5)  # C over M is blue
    assert np.argmax(overprint) == 2


def test_print_coverage_compresses_the_gamut_and_keeps_greys_neutral():
    paper = np.array([0.88, 0.88, 0.88], np.float32)
    colours = np.array([[[0, 0, 0], [128, 128, 128], [255, 255, 255], [0, 255, 0]]], np.uint8)
    coverage = halftone.print_coverage(colours, paper, 0.03, saturation=0.8, gcr=0.5, dot_gain=0.0)
    printed = halftone.ink_reflectance(coverage, paper, 0.03)[0]
    black, grey, white, green = printed
    np.testing.assert_allclose(white, paper, rtol=1e-4)  # no ink on white
    assert np.ptp(grey) < 0.02 * grey.mean() and np.ptp(black) < 0.1 * black.mean()
    assert 20 < white.mean() / black.mean() < 90  # a print's dynamic range
    assert (grey - black) / (white - black) == pytest.approx(np.full(3, 0.2158), abs=0.01)  # linear in light
    assert green[0] > 0.03 and green[1] < 0.7  # a printed pure green is far less saturated than (0, 1, 0)
    dark_midtones = halftone.print_coverage(colours, paper, 0.03, saturation=0.8, gcr=0.5, dot_gain=0.2)
    assert halftone.ink_reflectance(dark_midtones, paper, 0.03)[0, 1].mean() < 0.8 * grey.mean()  # dot gain


def test_display_lights_one_stripe_per_channel_inside_each_pixel():
    u, v = page_grid(240, px_per_mm=60)  # 0.2 mm pitch = 12 samples per pixel
    light = display.display_emission(np.ones((100, 100, 3), np.float32), u, v, 0.2, 0.75, 60, row_fill=0.9)
    np.testing.assert_allclose(light.mean(axis=(0, 1)), 1.0, atol=0.02)  # the pattern keeps the mean
    row = light[6]  # a row through the lit part of the pixels
    lit_columns = [set(np.flatnonzero(row[:12, channel] > 0.5)) for channel in range(3)]
    assert all(lit_columns) and not (lit_columns[0] & lit_columns[1]) and not (lit_columns[1] & lit_columns[2])
    assert max(lit_columns[0]) < min(lit_columns[1]) and max(lit_columns[1]) < min(lit_columns[2])  # R, G, B order
    green = np.abs(np.fft.rfft(row[:, 1] - row[:, 1].mean()))
    grey = np.abs(np.fft.rfft(row.sum(axis=1) - row.sum(axis=1).mean()))
    assert np.argmax(green) == 240 // 12  # each channel repeats every pixel
    assert np.argmax(grey) == 3 * 240 // 12  # white light repeats every sub-pixel: the pixel period cancels


@pytest.mark.parametrize("pitch_camera_px", [0.8, 1.6, 2.5])
def test_moire_beat_appears_where_point_sampling_predicts(pitch_camera_px):
    supersample, size = 4, 128
    camera_px_per_mm = pitch_camera_px / 0.1  # a 0.1 mm pitch display at this distance
    scene_px_per_mm = camera_px_per_mm * supersample
    u, v = page_grid(size * supersample, scene_px_per_mm)
    u, v = u - 0.5 / scene_px_per_mm, v - 0.5 / scene_px_per_mm  # scene sample i sits at i (camera_to_scene)
    white = np.full((2000, 2000, 3), 0.5, np.float32)
    scene = display.display_emission(white, u, v, 0.1, 0.8, scene_px_per_mm)
    image, _ = capture(scene, supersample, np.random.default_rng(0), IDEAL_CAMERA)
    frequency = 1 / pitch_camera_px
    beat = abs(frequency - round(frequency))  # |f_display - k f_sample|, k the nearest integer
    spectrum = np.abs(np.fft.rfft((image[:, :, 1].mean(axis=0) - image[:, :, 1].mean()) * np.hanning(size)))
    assert np.fft.rfftfreq(size)[int(np.argmax(spectrum[2:])) + 2] == pytest.approx(beat, abs=1.5 / size)


def test_print_shows_its_halftone_at_the_derived_period_in_camera_pixels(background):
    photo = np.full((256, 256, 3), 128, np.uint8)
    points = np.array([[64, 64], [192, 64], [192, 192], [64, 192]], float)
    config = configs.PrintConfig(scene=FRONTAL, print_width_mm=(20, 20), lpi=(85, 85), fm_probability=0.0, gcr=(1, 1),
                                 bend_probability=0.0, paper_texture=(0, 0), paper_tint=(0, 0))
    result = sim.simulate("print", photo, points, background, (256, 256), np.random.default_rng(0), config=config,
                          camera=MILD_CAMERA)
    assert result.params["camera_px_per_mm"] == pytest.approx(12.8, rel=1e-3)  # 128 px face / 10 mm on paper
    period = result.params["halftone_period_camera_px"]
    assert period == pytest.approx(25.4 / 85 * 12.8, rel=1e-3)
    radius, angle, ratio = peak(result.image[64:192, 64:192, 1].astype(float))
    assert radius == pytest.approx(1 / period, abs=1.5 / 128)
    assert angle % 90 == pytest.approx(45, abs=5)  # grey with full GCR prints black ink only
    assert ratio > 20


def test_replay_shows_its_display_grid_at_the_derived_pitch(background):
    photo = np.full((256, 256, 3), 230, np.uint8)
    points = np.array([[64, 64], [192, 64], [192, 192], [64, 192]], float)
    config = configs.ReplayConfig(scene=FRONTAL, screen_width_mm=(60, 60), pitch_mm=(0.3, 0.3),
                                  backlight_falloff=(0, 0), reflection=(0, 0))
    result = sim.simulate("replay", photo, points, background, (256, 256), np.random.default_rng(0), config=config,
                          camera=IDEAL_CAMERA)
    pitch = result.params["display_pitch_camera_px"]
    assert pitch == pytest.approx(0.3 * 128 / 30, rel=1e-3)
    frequency = 1 / pitch
    green = result.image[64:192, 64:192, 1].mean(axis=0).astype(float)
    spectrum = np.abs(np.fft.rfft((green - green.mean()) * np.hanning(128)))
    found = np.fft.rfftfreq(128)[int(np.argmax(spectrum[2:])) + 2]
    assert found == pytest.approx(abs(frequency - round(frequency)), abs=1.5 / 128)


@pytest.mark.parametrize("kind", configs.KINDS)
def test_returned_points_follow_the_face(kind, background):
    photo, points = face_photo()
    for seed in range(2):
        result = sim.simulate(kind, photo, points, background, (192, 192), np.random.default_rng(seed),
                              camera=MILD_CAMERA)
        assert result.image.shape == (192, 192, 3) and result.image.dtype == np.uint8 and result.kind == kind
        assert result.points.shape == points.shape
        assert np.all(result.points >= 0) and np.all(result.points <= 191)
        x, y = np.round(result.points[NOSE]).astype(int)
        window = result.image[y - 8:y + 9, x - 8:x + 9].astype(float).sum(axis=2)
        dy, dx = np.unravel_index(int(np.argmin(window)), window.shape)
        assert math.hypot(dx - 8, dy - 8) <= 2.5, f"{kind} seed {seed}: nose dot not at its mapped point"
        box = result.points[5:]
        size = max(np.ptp(box, axis=0)) / max(np.ptp(points[5:], axis=0)) / (192 / 160)
        assert 0.5 < size < 1.3  # the face keeps roughly its size relative to the frame


def test_cut_photo_eye_holes_show_the_live_pixels(background):
    green = (0, 255, 0)
    photo, points = face_photo(eye=green, eye_axes=(12, 9))
    config = configs.CutPhotoConfig(print=configs.PrintConfig(scene=FRONTAL), parallax_px=(1, 1))
    scene = sim.render_scene("cut_photo", photo, points, background, (192, 192), np.random.default_rng(4),
                             config=config)
    printed = sim.render_scene("print", photo, points, background, (192, 192), np.random.default_rng(4),
                               config=config.print)
    np.testing.assert_allclose(scene.points, printed.points)  # the same sheet, only the holes differ
    for eye in scene.points[:2]:
        x, y = np.round(eye * 3 + 1).astype(int)  # output px to scene samples (supersample 3)
        np.testing.assert_allclose(scene.linear[y, x], srgb_to_linear(np.array(green, np.uint8)), atol=0.02)
        assert printed.linear[y, x, 0] > 0.02 and printed.linear[y, x, 1] < 0.7  # the print of green is muddy
    assert scene.params["eye_hole_semi_major_mm"] > 0


def test_print_has_a_white_border_and_replay_a_dark_bezel():
    frontal_small = configs.SceneConfig(**{**FRONTAL.__dict__, "face_scale": (0.5, 0.5)})
    dark, points = np.full((128, 128, 3), 30, np.uint8), np.array([[40, 40], [88, 88]], float)
    grey = np.full((40, 40, 3), 90, np.uint8)
    printed = sim.simulate("print", dark, points, grey, (128, 128), np.random.default_rng(0),
                           config=configs.PrintConfig(scene=frontal_small, print_width_mm=(60, 60), border_mm=(8, 8)),
                           camera=MILD_CAMERA)
    assert (printed.image.min(axis=2) > 180).sum() > 100  # paper margin, brighter than photo and room
    bright, light_room = np.full((128, 128, 3), 220, np.uint8), np.full((40, 40, 3), 220, np.uint8)
    replayed = sim.simulate("replay", bright, points, light_room, (128, 128), np.random.default_rng(0),
                            config=configs.ReplayConfig(scene=frontal_small, screen_width_mm=(60, 60), bezel_mm=(8, 8)),
                            camera=MILD_CAMERA)
    assert (replayed.image.max(axis=2) < 90).sum() > 100  # bezel, darker than screen and room


def test_live_goes_through_the_camera_with_its_colours_kept():
    photo = np.full((128, 128, 3), (200, 120, 60), np.uint8)
    config = configs.LiveConfig(illumination=(1, 1), light_gradient=(0, 0))
    result = sim.simulate("live", photo, np.array([[40, 40], [88, 88]], float), None, (96, 96),
                          np.random.default_rng(0), config=config, camera=MILD_CAMERA)
    assert np.abs(result.image[4:-4, 4:-4].reshape(-1, 3).mean(axis=0) - (200, 120, 60)).max() < 3
    assert result.params["camera_jpeg_quality"] == 95


def test_same_seed_same_spoof_and_other_seeds_differ(background):
    photo, points = face_photo()
    first = sim.simulate("cut_photo", photo, points, background, (128, 128), np.random.default_rng(5))
    again = sim.simulate("cut_photo", photo, points, background, (128, 128), np.random.default_rng(5))
    other = sim.simulate("cut_photo", photo, points, background, (128, 128), np.random.default_rng(6))
    assert np.array_equal(first.image, again.image) and first.params == again.params
    assert not np.array_equal(first.image, other.image)
    assert all(value is None or type(value) in (int, float, str, bool) for value in first.params.values())


def test_unknown_kind_names_the_valid_kinds(background):
    photo, points = face_photo()
    with pytest.raises(SimulationError) as raised:
        sim.simulate("mask", photo, points, background, (128, 128), np.random.default_rng(0))
    assert isinstance(raised.value, FasError)
    assert all(kind in str(raised.value) for kind in configs.KINDS)


@pytest.mark.parametrize("change, problem", [
    ({"photo": np.zeros((64, 64, 3), np.float32)}, "photo must be a uint8 RGB"),
    ({"photo": np.zeros((64, 64), np.uint8)}, "photo must be a uint8 RGB"),
    ({"points": np.array([[10.0, 10.0], [200.0, 30.0]])}, "outside the 160x160 photo"),
    ({"points": np.array([10.0, 20.0, 30.0])}, r"\(N, 2\)"),
    ({"background": None}, "background must be a uint8 RGB"),
    ({"out_size": (10, 10)}, "out_size"),
    ({"out_size": "large"}, "out_size"),
    ({"config": configs.ReplayConfig()}, "must be a PrintConfig"),
    ({"supersample": 0}, "supersample"),
])
def test_bad_inputs_are_refused_with_the_reason(change, problem, background):
    photo, points = face_photo()
    arguments = {"photo": photo, "points": points, "background": background, "out_size": (128, 128),
                 "config": None, "supersample": 3, **change}
    with pytest.raises(SimulationError, match=problem) as raised:
        sim.simulate("print", arguments["photo"], arguments["points"], arguments["background"],
                     arguments["out_size"], np.random.default_rng(0), supersample=arguments["supersample"],
                     config=arguments["config"])
    assert isinstance(raised.value, ValueError)


def test_cut_photo_needs_its_eye_points(background):
    photo, points = face_photo()
    with pytest.raises(SimulationError, match="eyes"):
        sim.simulate("cut_photo", photo, points[5:7], background, (128, 128), np.random.default_rng(0),
                     config=configs.CutPhotoConfig(eye_indices=(0, 4)))


def test_live_frames_a_face_that_touches_the_photo_edge():
    photo, points = face_photo()
    corner = np.roll(photo, (48, 48), axis=(0, 1))
    moved = np.clip(points + 48, 0, 159)  # the face box now ends at the photo's corner
    result = sim.simulate("live", corner, moved, None, (128, 96), np.random.default_rng(0), camera=MILD_CAMERA)
    assert result.params["mirrored_border"] is True
    assert np.all(result.points >= 0) and np.all(result.points < (128, 96))


@pytest.mark.parametrize("kind", ["print", "replay", "cut_photo"])
def test_a_tight_attack_fills_the_frame_and_framing_sets_the_face_size(kind):
    photo, points = face_photo(size=320)  # face box 128 x 160 px: the photo spans 2 face sizes, the frame 1.3
    room = np.zeros((40, 40, 3), np.uint8)
    room[..., 1] = 255  # pure green: any of it in the output is the room showing past the medium
    scene = dataclasses.replace(configs.SceneConfig(), fill_frame=True, face_scale=(1, 1), glare=(0, 0))
    config = {"print": configs.PrintConfig(scene=scene), "replay": configs.ReplayConfig(scene=scene, reflection=(0, 0)),
              "cut_photo": configs.CutPhotoConfig(print=configs.PrintConfig(scene=scene))}[kind]
    for seed in range(3):
        result = sim.simulate(kind, photo, points, room, (96, 96), np.random.default_rng(seed), config=config,
                              framing=0.45, camera=MILD_CAMERA)
        pixels = result.image.reshape(-1, 3).astype(int)
        assert not np.any((pixels[:, 1] > 200) & (pixels[:, 0] < 60) & (pixels[:, 2] < 60)), "the room shows"
        width = np.ptp(result.points[5:, 0])
        assert 0.45 * 128 * 0.75 < width < 0.45 * 128 * 1.25, width  # about framing x its photo size
        assert result.params["face_scale"] == 1

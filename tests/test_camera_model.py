import dataclasses

import numpy as np
import pytest

from fasutils.core.errors import FasError, SimulationError
from fasutils.simulation.camera import (
    CameraConfig,
    capture,
    jpeg_roundtrip,
    linear_to_srgb,
    metering_gains,
    srgb_to_linear,
)

# A camera with nothing random: unit gains, a small PSF, no motion, no noise, no JPEG.
IDEAL = CameraConfig(exposure=(1, 1), white_balance=(1, 1), psf_sigma_px=(0.3, 0.3), motion_probability=0.0,
                     shot_noise=(0, 0), read_noise=(0, 0), demosaic=("bilinear",), jpeg_quality=None)


def flat_scene(colour, size=32, supersample=3):
    return np.full((size * supersample, size * supersample, 3), colour, np.float32)


def test_srgb_transfer_functions_match_the_standard_and_invert():
    assert linear_to_srgb(np.array([0.0, 0.5, 1.0])).tolist() == pytest.approx([0.0, 0.7354, 1.0], abs=1e-3)
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_allclose(srgb_to_linear(codes), srgb_to_linear(codes / 255.0), atol=1e-6)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(codes)) * 255, codes, atol=1e-3)


@pytest.mark.parametrize("method", ["bilinear", "edge_aware"])
@pytest.mark.parametrize("colour", [(0.8, 0.1, 0.05), (0.05, 0.5, 0.1), (0.1, 0.2, 0.7), (0.18, 0.18, 0.18)])
def test_bayer_and_demosaic_keep_a_flat_colour(colour, method):
    config = CameraConfig(**{**IDEAL.__dict__, "demosaic": (method,), "jpeg_quality": (95, 95)})
    image, _ = capture(flat_scene(colour), 3, np.random.default_rng(0), config)
    expected = linear_to_srgb(np.array(colour)) * 255
    interior = image[4:-4, 4:-4].reshape(-1, 3).astype(float)
    assert np.abs(interior - expected).max() <= 3  # no colour fringes, no cast


def test_noise_grows_with_the_shot_noise_parameter():
    stds = []
    for shot in (0.0, 1e-4, 1e-3, 1e-2):
        config = CameraConfig(**{**IDEAL.__dict__, "shot_noise": (shot, shot)})
        image, params = capture(flat_scene(0.2, 64), 3, np.random.default_rng(1), config)
        assert params["shot_noise"] == shot
        stds.append(float(image[4:-4, 4:-4, 1].std()))
    assert stds[0] < 0.5
    assert stds == sorted(stds) and stds[3] > 2 * stds[2] > 2 * stds[1]


def test_jpeg_quality_orders_file_size_and_error():
    rng = np.random.default_rng(2)
    image = np.clip(np.cumsum(rng.normal(0, 12, (64, 64, 3)), axis=1) + 128, 0, 255).astype(np.uint8)
    results = [jpeg_roundtrip(image, quality) for quality in (20, 50, 80, 95)]
    sizes = [size for _, size in results]
    errors = [float(np.mean((decoded.astype(float) - image) ** 2)) for decoded, _ in results]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    assert errors == sorted(errors, reverse=True)


def scene_grating(cycles_per_camera_px, size=128, supersample=4):
    x = (np.arange(size * supersample) - supersample // 2) / supersample  # camera px of each scene sample
    row = 0.3 + 0.2 * np.cos(2 * np.pi * cycles_per_camera_px * x)
    return np.repeat(np.repeat(row[None, :, None], size * supersample, axis=0), 3, axis=2).astype(np.float32)


def strongest_frequency(signal):
    spectrum = np.abs(np.fft.rfft((signal - signal.mean()) * np.hanning(signal.size)))
    return np.fft.rfftfreq(signal.size)[int(np.argmax(spectrum))], float(spectrum.max())


def test_point_sampling_aliases_fine_structure_into_a_beat():
    # 0.8 cycles per camera px is above Nyquist; without an anti-alias filter it lands at |0.8 - 1| = 0.2.
    sharp, _ = capture(scene_grating(0.8), 4, np.random.default_rng(0), IDEAL)
    frequency, strength = strongest_frequency(sharp[:, :, 1].mean(axis=0).astype(float))
    assert frequency == pytest.approx(0.2, abs=1.5 / 128)
    # Point sampling keeps the alias at the PSF's contrast, exp(-2 pi^2 sigma^2 f^2): 0.32 at 0.8 vs 0.93 at 0.2.
    # Averaging each camera pixel's area instead would cut it by another sinc(0.8) = 0.23.
    direct, _ = capture(scene_grating(0.2), 4, np.random.default_rng(0), IDEAL)
    ratio = strength / strongest_frequency(direct[:, :, 1].mean(axis=0).astype(float))[1]
    assert 0.25 < ratio < 0.5
    blurred_config = CameraConfig(**{**IDEAL.__dict__, "psf_sigma_px": (1.0, 1.0)})
    blurred, _ = capture(scene_grating(0.8), 4, np.random.default_rng(0), blurred_config)
    assert strongest_frequency(blurred[:, :, 1].mean(axis=0).astype(float))[1] < strength / 10  # optics only


def test_same_seed_same_image_and_other_seeds_differ():
    ramp = np.linspace(0, 1, 96, dtype=np.float32)
    scene = np.stack([np.tile(ramp, (96, 1)), np.tile(ramp[:, None], (1, 96)), np.full((96, 96), 0.3)], axis=-1)
    first, params = capture(scene.astype(np.float32), 3, np.random.default_rng(7))
    again, params_again = capture(scene.astype(np.float32), 3, np.random.default_rng(7))
    other, _ = capture(scene.astype(np.float32), 3, np.random.default_rng(8))
    assert first.shape == (32, 32, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again) and params == params_again
    assert not np.array_equal(first, other)
    assert all(value is None or type(value) in (int, float, str) for value in params.values())


@pytest.mark.parametrize("scene, supersample, problem", [
    (np.zeros((96, 96, 3), np.uint8), 3, "float32"),
    (np.zeros((95, 96, 3), np.float32), 3, "multiple"),
    (np.zeros((96, 96, 2), np.float32), 3, "shape"),
    (np.zeros((96, 96, 3), np.float32), 0, "supersample"),
    (np.zeros((96, 96, 3), np.float32), 2.5, "supersample"),
])
def test_bad_scenes_are_refused_with_the_reason(scene, supersample, problem):
    with pytest.raises(SimulationError, match=problem) as raised:
        capture(scene, supersample, np.random.default_rng(0))
    assert isinstance(raised.value, FasError) and isinstance(raised.value, ValueError)


def test_metering_brings_dim_and_tinted_scenes_to_the_target_level_and_to_grey():
    rng = np.random.default_rng(0)
    tinted = rng.uniform(0.0, 1.0, (96, 96, 3)).astype(np.float32) * np.array([0.05, 0.04, 0.08], np.float32)
    means = tinted.reshape(-1, 3).mean(axis=0)
    assert np.allclose(metering_gains(tinted, None, 0.0), 1.0)  # no metering: unit gains
    balanced = means * metering_gains(tinted, None, 1.0)
    assert np.allclose(balanced, balanced.mean(), rtol=1e-5)  # grey world: the channel means equalized
    half = means * metering_gains(tinted, None, 0.5)
    assert np.ptp(balanced) < np.ptp(half) < np.ptp(means)
    assert np.isclose((means * metering_gains(tinted, 0.2, 0.7)).mean(), 0.2, rtol=1e-5)
    dim, bright = capture(tinted, 3, np.random.default_rng(1), IDEAL)[0], capture(tinted * 10, 3,
                          np.random.default_rng(1), IDEAL)[0]
    metered = dataclasses.replace(IDEAL, auto_exposure=(0.2, 0.2), auto_white_balance=(1.0, 1.0))
    same_dim, same_bright = (capture(scene, 3, np.random.default_rng(1), metered)[0] for scene in (tinted, tinted * 10))
    assert bright.mean() > dim.mean() + 50 and np.abs(same_dim.astype(int) - same_bright).max() <= 1


@pytest.mark.parametrize("changes, problem", [({"psf_sigma_px": (2.0, 1.0)}, "psf_sigma_px"),
                                              ({"demosaic": ("vng",)}, "demosaic"),
                                              ({"jpeg_quality": (50, 120)}, "jpeg_quality"),
                                              ({"auto_white_balance": (0.5, 1.5)}, "auto_white_balance"),
                                              ({"auto_exposure": (0.0, 0.2)}, "auto_exposure")])
def test_bad_configs_are_refused(changes, problem):
    with pytest.raises(SimulationError, match=problem):
        CameraConfig(**changes)

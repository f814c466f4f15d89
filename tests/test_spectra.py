import math

import cv2
import numpy as np
import pytest

from fasutils.core.errors import FasError, SpectralError
from fasutils.simulation.halftone import SCREEN_ANGLES_DEG, am_screen
from fasutils.spectral import spectra


def grating(shape, frequency, angle_deg, amplitude=60.0):
    """A cosine at ``frequency`` cycles/px whose wave vector points ``angle_deg`` counter-clockwise on screen."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    theta = math.radians(angle_deg)
    return 128.0 + amplitude * np.cos(2 * np.pi * frequency * (math.cos(theta) * cols - math.sin(theta) * rows))


def blurred_noise(seed, shape=(128, 128), sigma=0.0):
    image = np.random.default_rng(seed).normal(128.0, 30.0, shape)
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma else image


def test_frequency_grid_is_centred_like_fftshift_for_rectangles():
    fx, fy = spectra.frequency_grid((16, 20))
    assert fx.shape == fy.shape == (16, 20)
    assert fx[8, 10] == fy[8, 10] == 0.0
    np.testing.assert_allclose(fx[3], np.arange(-10, 10) / 20)
    np.testing.assert_allclose(fy[:, 5], np.arange(-8, 8) / 16)
    # A cosine along x at 3 bins lands at column W//2 +- 3 of the shifted spectrum.
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(np.cos(2 * np.pi * 3 * np.arange(20) / 20)[None, :].repeat(16, 0))))
    assert sorted(np.round(fx[spectrum > 1e-6] * 20).astype(int).tolist()) == [-3, 3]


@pytest.mark.parametrize("shape, frequency, angle", [((128, 128), 0.1, 30.0), ((96, 128), 0.2, 120.0),
                                                     ((128, 96), 0.3, 0.0), ((64, 64), 0.15, 75.0)])
def test_a_grating_is_the_first_peak_at_its_frequency_and_angle(shape, frequency, angle):
    image = grating(shape, frequency, angle)
    first = spectra.find_peaks(image)[0]
    assert first.radius == pytest.approx(frequency, abs=1.0 / min(shape))  # within one frequency bin
    assert abs((first.angle_deg - angle + 90) % 180 - 90) < 3.0
    assert 0.0 <= first.angle_deg < 180.0
    assert first.period_px == pytest.approx(1 / frequency, rel=0.05)
    spectrum = spectra.log_spectrum(image)
    assert spectrum.shape == shape
    row, col = np.unravel_index(int(np.argmax(spectrum)), shape)
    fx, fy = frequency * math.cos(math.radians(angle)), -frequency * math.sin(math.radians(angle))
    twins = [(shape[0] // 2 + s * fy * shape[0], shape[1] // 2 + s * fx * shape[1]) for s in (1, -1)]
    assert min(max(abs(row - r), abs(col - c)) for r, c in twins) <= 1.0


def test_log_spectrum_removes_the_mean_and_hann_removes_edge_leakage():
    image = grating((64, 64), 0.13, 20.0) + 50.0 * np.linspace(0, 1, 64)[None, :]  # a ramp: strong edge jump
    windowed, plain = spectra.log_spectrum(image), spectra.log_spectrum(image, window="none")
    assert windowed[32, 32] == pytest.approx(0.0, abs=1e-6)  # DC
    # Without a window the ramp's wrap-around jump leaks along the fx axis; Hann suppresses it.
    far_axis = np.s_[32, 2:12]
    assert np.median(plain[far_axis]) > np.median(windowed[far_axis]) + 2.0


def test_white_noise_has_a_flat_radial_power_profile_at_the_expected_level():
    sigma, size = 10.0, 256
    profiles = [spectra.radial_profile(np.random.default_rng(seed).normal(100.0, sigma, (size, size)))
                for seed in range(4)]
    centres, power = profiles[0][0], np.mean([profile for _, profile in profiles], axis=0)
    assert centres.shape == (size // 2,) and centres[0] > 0 and centres[-1] < 0.5
    band = power[(centres >= 0.05) & (centres <= 0.45)]
    assert band.std() / band.mean() < 0.2
    expected = sigma ** 2 * np.mean(np.hanning(size) ** 2) ** 2  # E|F|^2 / N for a Hann-windowed white field
    assert band.mean() == pytest.approx(expected, rel=0.1)


def test_radial_profile_puts_a_grating_in_its_bin():
    centres, power = spectra.radial_profile(grating((96, 128), 0.3, 50.0), bins=24)
    assert centres.shape == power.shape == (24,)
    assert abs(centres[int(np.argmax(power))] - 0.3) <= 0.5 / 24


def test_high_frequency_ratio_falls_with_blur_and_is_near_one_for_a_fine_grating():
    sharp = spectra.high_frequency_ratio(blurred_noise(0))
    blurred = spectra.high_frequency_ratio(blurred_noise(0, sigma=1.5))
    assert sharp > 0.6  # white noise: power above r = 0.25 is most of the plane (1 - pi/16 of it)
    assert blurred < 0.1 * sharp
    assert spectra.high_frequency_ratio(grating((128, 128), 0.4, 10.0)) > 0.99
    assert spectra.high_frequency_ratio(grating((128, 128), 0.1, 10.0)) < 0.01
    assert spectra.high_frequency_ratio(np.full((32, 32), 7.0)) == 0.0


def test_peak_finder_recovers_the_screen_of_a_simulated_k_halftone():
    px_per_mm, lpi = 30.0, 127.0  # period 25.4 / lpi mm = 0.2 mm = 6 px
    period_px = 25.4 / lpi * px_per_mm
    v_mm, u_mm = (np.mgrid[0:256, 0:256].astype(np.float32) + 0.5) / px_per_mm
    reflectance = 255.0 * (1.0 - am_screen(0.4, u_mm, v_mm, lpi, SCREEN_ANGLES_DEG[3], px_per_mm))
    peaks = spectra.find_peaks(reflectance, count=4)
    assert len(peaks) == 4
    # The two strongest are the screen's fundamentals, at 45 degrees and at 45 + 90, each reported once.
    assert sorted(round(peak.angle_deg) for peak in peaks[:2]) == [45, 135]
    for peak in peaks[:2]:
        assert peak.radius == pytest.approx(1 / period_px, abs=1 / 256)
        assert peak.period_px == pytest.approx(period_px, rel=0.03)
    assert all(peak.strength > 5 for peak in peaks)
    assert spectra.peak_score(reflectance) > 50 * spectra.peak_score(blurred_noise(1, (256, 256)))


def test_peaks_are_suppressed_around_each_other_and_their_twins():
    image = grating((128, 128), 0.2, 40.0) + grating((128, 128), 0.23, 40.0, amplitude=30.0)
    peaks = spectra.find_peaks(image, count=3, min_separation=0.05)
    assert all(math.hypot(a.fx - b.fx, a.fy - b.fy) >= 0.05 and math.hypot(a.fx + b.fx, a.fy + b.fy) >= 0.05
               for i, a in enumerate(peaks) for b in peaks[i + 1:])
    close = spectra.find_peaks(image, count=2, min_separation=0.001)  # floor of 2.5 bins: 0.0195 cycles/px
    assert close[1].radius == pytest.approx(0.23, abs=1 / 128)
    strongest = spectra.find_peaks(image, count=1)[0]
    assert spectra.peak_score(image) == pytest.approx(math.exp(strongest.strength))


def test_spectrum_difference_and_mean_log_spectrum():
    live = blurred_noise(2, (64, 64), sigma=1.0)
    spoof = live + grating((64, 64), 0.25, 0.0, amplitude=20.0)
    difference = spectra.spectrum_difference(spoof, live)
    assert np.unravel_index(int(np.argmax(difference)), difference.shape) in [(32, 48), (32, 16)]
    assert spectra.spectrum_difference(live, live) == pytest.approx(np.zeros((64, 64)))
    crops = [blurred_noise(seed, (32, 48)) for seed in range(3)]
    expected = sum(spectra.log_spectrum(crop) for crop in crops) / 3
    np.testing.assert_allclose(spectra.mean_log_spectrum(crops), expected)
    np.testing.assert_allclose(spectra.mean_log_spectrum(np.stack(crops)), expected)


def test_luma_chroma_follows_bt601():
    image = np.zeros((4, 6, 3), np.uint8)
    image[:2] = 90  # grey
    image[2:] = (255, 0, 0)  # red
    y, cb, cr = spectra.luma_chroma(image)
    assert y.shape == cb.shape == cr.shape == (4, 6) and y.dtype == np.float32
    assert (y[0, 0], cb[0, 0], cr[0, 0]) == pytest.approx((90.0, 128.0, 128.0), abs=0.01)
    assert y[3, 0] == pytest.approx(0.299 * 255, abs=0.01)
    assert cr[3, 0] > 250 and cb[3, 0] < 90


@pytest.mark.parametrize("channel, message", [
    (np.zeros((15, 40)), "too small"),
    (np.zeros((32, 32, 3)), "luma_chroma"),
    (np.zeros(64), "2-D"),
    (np.zeros((32, 32), bool), "integers or floats"),
    (np.zeros((32, 32), complex), "integers or floats"),
    (np.full((32, 32), np.nan), "NaN"),
    ([[0.0] * 32] * 32, "NumPy array"),
])
def test_bad_channels_are_refused_with_a_fix(channel, message):
    for function in (spectra.log_spectrum, spectra.radial_profile, spectra.high_frequency_ratio,
                     spectra.find_peaks, spectra.peak_score):
        with pytest.raises(SpectralError, match=message):
            function(channel)


def test_bad_settings_are_refused():
    channel = np.zeros((32, 32), np.uint8)
    cases = [(spectra.log_spectrum, {"window": "hamming"}), (spectra.radial_profile, {"bins": 17}),
             (spectra.radial_profile, {"bins": 2.0}), (spectra.high_frequency_ratio, {"cutoff": 0.5}),
             (spectra.find_peaks, {"count": 0}), (spectra.find_peaks, {"min_radius": -0.1}),
             (spectra.peak_score, {"min_radius": 0.0})]
    for function, kwargs in cases:
        with pytest.raises(FasError):
            function(channel, **kwargs)
    with pytest.raises(FasError, match="same shape"):
        spectra.spectrum_difference(np.zeros((32, 32)), np.zeros((32, 33)))
    with pytest.raises(FasError, match="one shape"):
        spectra.mean_log_spectrum([np.zeros((32, 32)), np.zeros((33, 32))])
    with pytest.raises(FasError, match="at least one"):
        spectra.mean_log_spectrum([])
    with pytest.raises(FasError, match="uint8"):
        spectra.luma_chroma(np.zeros((8, 8, 3)))
    with pytest.raises(FasError, match="H, W, 3"):
        spectra.luma_chroma(np.zeros((8, 8, 4), np.uint8))

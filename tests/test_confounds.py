import cv2
import numpy as np

from fasutils.spectral.confounds import demosaiced, generator_upsampled, jpeg_blocks
from fasutils.spectral.spectra import find_peaks, luma_chroma


def _textured(seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(60, 200, (128, 128, 3)).astype(np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 0.8)


def test_demosaicing_puts_false_colour_at_nyquist():
    sharp = np.random.default_rng(0).integers(60, 200, (128, 128, 1)).astype(np.uint8)
    image = np.repeat(sharp, 3, axis=2)  # grey fine detail: no colour at all before
    cb_before, cb_after = luma_chroma(image)[1], luma_chroma(demosaiced(image))[1]
    top = find_peaks(cb_after, min_radius=0.3, count=1)[0]
    assert top.radius > 0.45
    assert top.strength > find_peaks(cb_before, min_radius=0.3, count=1)[0].strength + 1.0


def test_generator_upsampling_leaves_a_checkerboard_and_keeps_brightness():
    grey = cv2.GaussianBlur(np.full((128, 128, 3), 100, np.uint8) + _textured() // 8, (0, 0), 2)
    upsampled = generator_upsampled(grey)
    assert find_peaks(luma_chroma(upsampled)[0], min_radius=0.3, count=1)[0].radius > 0.45
    assert abs(float(upsampled.mean()) - float(grey.mean())) < 0.05 * float(grey.mean())


def test_jpeg_blocks_keeps_the_shape_and_loses_detail():
    image = _textured()
    compressed = jpeg_blocks(image, quality=20)
    assert compressed.shape == image.shape and compressed.dtype == np.uint8
    assert 0 < np.abs(compressed.astype(int) - image).mean() < 40

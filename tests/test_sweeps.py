import numpy as np
import pytest

from fasutils.simulation.configs import CutPhotoConfig, PrintConfig
from fasutils.simulation.sweeps import fixed, sweep, zoom


def test_fixed_pins_ranges_and_reaches_into_the_scene():
    config = fixed(CutPhotoConfig(), lpi=100, yaw_deg=0, fm_probability=0.0)
    assert config.print.lpi == (100, 100) and config.print.scene.yaw_deg == (0, 0) and config.print.fm_probability == 0
    with pytest.raises(ValueError, match="no_such_parameter"):
        fixed(PrintConfig(), no_such_parameter=1)


def test_a_sweep_changes_only_the_swept_parameter():
    photo = np.full((240, 240, 3), 150, np.uint8)
    points = np.array([[100, 100], [140, 100], [120, 120], [105, 140], [135, 140],
                       [80, 70], [160, 70], [160, 170], [80, 170]], float)
    shots = sweep("print", photo, points, np.zeros((300, 300, 3), np.uint8), (200, 200), "lpi", [60, 120],
                  fm_probability=0.0, print_width_mm=60)
    assert [s.params["lpi"] for s in shots] == [60, 120]
    period = [s.params["halftone_period_camera_px"] for s in shots]
    assert period[0] == pytest.approx(2 * period[1])  # same scale, twice the ruling: half the period
    same = {k for k in shots[0].params if k not in {"lpi", "halftone_period_mm", "halftone_period_camera_px"}
            and shots[0].params[k] == shots[1].params[k]}
    assert {"print_width_mm", "camera_px_per_mm", "yaw_deg", "camera_psf_sigma_px"} <= same


def test_zoom_enlarges_a_patch_without_smoothing_and_stays_inside():
    image = np.arange(100, dtype=np.uint8).reshape(10, 10)
    patch = zoom(image, (0, 0), 4, factor=2)
    assert patch.shape == (8, 8) and patch[0, 0] == patch[1, 1] == 0 and patch[0, 2] == 1

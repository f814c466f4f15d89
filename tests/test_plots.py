import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fasutils.plots import image_grid  # noqa: E402


def test_grid_has_one_titled_panel_per_image_and_a_fixed_size():
    images = [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), np.ones((4, 9, 3), np.uint8)]
    figure = image_grid(images, ["a", "b", "c"], ncols=2, cell_inches=2.0)
    assert tuple(figure.get_size_inches()) == (4.0, 4.0)
    assert [axis.get_title() for axis in figure.axes if axis.images] == ["a", "b", "c"]


def test_titles_must_match_images():
    with pytest.raises(ValueError, match="2 images but 1 titles"):
        image_grid([np.zeros((2, 2)), np.zeros((2, 2))], ["only one"])

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest

from fasutils.core.errors import SpectralError
from fasutils.spectral.figures import maps_figure, radial_figure, spectra_figure


def test_spectra_figure_has_four_labelled_panels_per_image():
    images = {"a": np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8),
              "b": np.full((64, 64, 3), 90, np.uint8)}
    images["b"][:, ::4] = 200  # a grating: its peak gets circled
    figure = spectra_figure(images)
    assert len(figure.axes) == 8
    assert [a.get_title() for a in figure.axes[:4]] == ["a", "luma Y: log |FFT|", "chroma Cb: log |FFT|",
                                                        "chroma Cr: log |FFT|"]
    assert all(a.get_xlabel() and a.get_ylabel() for a in figure.axes)
    assert figure.axes[5].lines, "peaks of the grating are marked"


def test_radial_and_map_figures_are_labelled():
    figure = radial_figure({"noise": np.random.default_rng(1).normal(size=(64, 64))}, "title")
    axis = figure.axes[0]
    assert axis.get_title() == "title" and axis.get_legend().get_texts()[0].get_text() == "noise"
    maps = maps_figure([np.ones((4, 4)), np.array([[-1.0, 1.0]])], ["one", "signed"])
    panels = [a for a in maps.axes if a.get_title()]  # the others are colour bars
    assert [a.get_title() for a in panels] == ["one", "signed"]
    assert panels[1].images[0].get_cmap().name == "RdBu_r" and panels[0].images[0].get_cmap().name == "viridis"


def test_maps_figure_needs_one_title_per_map():
    with pytest.raises(SpectralError, match="one title per map"):
        maps_figure([np.ones((4, 4)), np.ones((4, 4))], ["only one"])

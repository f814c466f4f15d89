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


def test_training_curves_plot_every_recorded_series():
    from fasutils.plots import training_curves

    history = [{"epoch": e, "train_cls_loss": 1 / e, "train_ft_loss": 0.1 / e, "val_loss": 1.2 / e,
                "train_acc": 0.5 + e / 10, "val_acc": 0.5 + e / 20, "val_auc": 0.6 + e / 20} for e in (1, 2, 3)]
    figure = training_curves(history)
    losses, accuracy, auc = figure.axes
    assert len(losses.lines) == 3 and len(accuracy.lines) == 2 and list(auc.lines[0].get_ydata()) == [0.65, 0.7, 0.75]
    assert all(axis.get_xlabel() == "epoch" and axis.get_title() for axis in figure.axes)

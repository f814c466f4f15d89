import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fasutils.core.figures import image_grid


def test_grid_has_one_titled_panel_per_image_and_a_fixed_size():
    images = [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), np.ones((4, 9, 3), np.uint8)]
    figure = image_grid(images, ["a", "b", "c"], ncols=2, cell_inches=2.0)
    assert tuple(figure.get_size_inches()) == (4.0, 4.0)
    assert [axis.get_title() for axis in figure.axes if axis.images] == ["a", "b", "c"]


def test_titles_must_match_images():
    with pytest.raises(ValueError, match="2 images but 1 titles"):
        image_grid([np.zeros((2, 2)), np.zeros((2, 2))], ["only one"])


def test_training_curves_plot_every_recorded_series():
    from fasutils.training.curves import training_curves

    history = [{"epoch": e, "train_cls_loss": 1 / e, "train_ft_loss": 0.1 / e, "val_loss": 1.2 / e,
                "train_acc": 0.5 + e / 10, "val_acc": 0.5 + e / 20, "val_auc": 0.6 + e / 20} for e in (1, 2, 3)]
    figure = training_curves(history)
    losses, accuracy, auc = figure.axes
    assert len(losses.lines) == 3 and len(accuracy.lines) == 2 and list(auc.lines[0].get_ydata()) == [0.65, 0.7, 0.75]
    assert all(axis.get_xlabel() == "epoch" and axis.get_title() for axis in figure.axes)


def test_score_agreement_marks_exactly_the_changed_decisions():
    from fasutils.evaluation.figures import score_agreement

    reference = np.array([0.1, 0.4, 0.6, 0.9])
    figure = score_agreement(reference, {"INT8": np.array([0.1, 0.6, 0.4, 0.9]), "same": reference}, 0.5)
    int8, same = figure.axes
    assert int8.collections[1].get_offsets().shape[0] == 2 and "changed (2)" in int8.get_legend_handles_labels()[1]
    assert same.collections[1].get_offsets().shape[0] == 0 and same.get_xlabel() == "P(live), FP32"


def test_operator_times_stack_every_operator_into_the_total():
    import pandas as pd

    from fasutils.benchmark.figures import operator_times

    profiles = {"a": pd.DataFrame({"ms per run": [2.0, 1.0, 0.5]}, index=["Conv", "PRelu", "Add"]),
                "b": pd.DataFrame({"ms per run": [1.5, 0.25]}, index=["Conv", "Mul"])}
    axis = operator_times(profiles, top=1).axes[0]
    totals = {}
    for bars in axis.containers:
        for name, bar in zip(profiles, bars, strict=True):
            totals[name] = totals.get(name, 0) + bar.get_width()
    assert totals == pytest.approx({"a": 3.5, "b": 1.75})
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["Conv", "other"]

import numpy as np
import pytest
import torch

from fasutils.core import settings as runtime


@pytest.mark.parametrize("value, quick", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False),
                                          ("no", False)])
def test_quick_default_follows_the_environment(monkeypatch, value, quick):
    monkeypatch.setenv(runtime.ENV_QUICK, value)
    assert runtime.quick_default() is quick


def test_quick_is_off_without_the_variable(monkeypatch):
    monkeypatch.delenv(runtime.ENV_QUICK, raising=False)
    assert runtime.quick_default() is False


def test_seed_everything_makes_numpy_and_torch_repeat():
    first = (runtime.seed_everything(3).random(4), np.random.rand(2), torch.rand(2))
    second = (runtime.seed_everything(3).random(4), np.random.rand(2), torch.rand(2))
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, second, strict=True))
    assert not np.array_equal(runtime.seed_everything(4).random(4), first[0])


def test_environment_rows_name_the_versions_results_depend_on():
    rows = dict(runtime.environment_rows())
    assert rows["torch"].startswith("2.13.0") and rows["logical cores"].isdigit()
    assert set(runtime.KEY_DISTRIBUTIONS) <= set(rows)

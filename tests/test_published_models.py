"""Our MiniFASNet code on the published weights: parity with their ONNX exports, their verdicts, fresh copies."""

import numpy as np
import pytest
import torch
from conftest import SAMPLE_BOXES as SAMPLES
from conftest import from_reference

from fasutils.core import assets
from fasutils.core.images import read_image
from fasutils.export.onnx_export import published_onnx_parity
from fasutils.models import published as pm

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def samples():
    return from_reference(lambda: ([read_image(assets.path(name)) for name in SAMPLES], list(SAMPLES.values())))


@pytest.mark.parametrize("name", [n for n, m in pm.PUBLISHED.items() if m.onnx])
def test_our_code_equals_the_published_onnx_on_random_and_real_inputs(samples, name):
    convention = pm.PUBLISHED[name].convention
    random = np.random.default_rng(0).random((3, 3, *convention.input_size), dtype=np.float32)
    assert published_onnx_parity(name, random) <= 1e-4
    assert published_onnx_parity(name, convention.prepare(*samples)) <= 1e-4


def test_minivision_fused_calls_the_live_sample_live_and_the_attacks_spoof(samples):
    live, printed, replayed = pm.minivision_fused_live(*samples)
    assert live > 0.95 and printed < 0.5 and replayed < 0.5


@pytest.mark.parametrize("name", list(pm.PUBLISHED))
def test_every_published_model_gets_the_samples_right_with_its_convention(samples, name):
    live, printed, replayed = pm.live_probability(name, *samples)
    assert live > 0.9 and printed < 0.5 and replayed < 0.5


def test_load_hands_out_a_fresh_model_each_call():
    name = "minivision V2 2.7"
    first = pm.load(name)
    inputs = np.random.default_rng(0).random((2, 3, 80, 80), dtype=np.float32)
    expected = pm.logits(name, inputs)
    first.model.train()
    first.model.register_forward_hook(lambda module, args, output: output * 0)
    with torch.no_grad():
        first.model.model.prob.weight.zero_()
    second = pm.load(name)
    assert second.model is not first.model and not second.model.training
    assert not any(m._forward_hooks for m in second.model.modules())
    assert second.model.model.prob.weight.abs().sum() > 0
    with torch.no_grad():
        np.testing.assert_array_equal(second.model(torch.from_numpy(inputs)).numpy(), expected)
    np.testing.assert_array_equal(pm.logits(name, inputs), expected)

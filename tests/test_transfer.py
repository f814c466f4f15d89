"""Fine-tuning from published checkpoints: exact convention folding, the head, frozen stages, L2-SP, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fasutils.core import assets
from fasutils.core.errors import TrainingError
from fasutils.core.images import read_image
from fasutils.export.classifiers import load_classifier
from fasutils.models import published
from fasutils.training.checkpoints import save_for_inference
from fasutils.training.config import TrainConfig
from fasutils.training.loop import EPOCHS_DIR, decision_logits, train
from fasutils.training.transfer import anchor_distance, interpolate_weights, interpolated_models, start_model
from tests.conftest import from_reference
from tests.test_training import make_records

MINIVISION = "minivision V2 2.7"
FINE_TUNE = TrainConfig(variant="V2", num_classes=3, init_from=MINIVISION, epochs=2, batch_size=8, lr=0.01,
                        anchor_weight=1.0)


@pytest.fixture(scope="module")
def sample():
    return from_reference(lambda: read_image(assets.path("minivision/sample-live-T1")))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("patches")
    return make_records(folder, 16, "train", 0), make_records(folder, 8, "val", 1)


def test_the_start_model_is_the_published_one_with_its_convention_folded_into_conv1(sample):
    model, anchor = from_reference(lambda: start_model(FINE_TUNE))
    box = (250.0, 100.0, 150.0, 200.0)
    ours = FINE_TUNE.input_convention().prepare([sample], [box])  # RGB / 255
    theirs = published.PUBLISHED[MINIVISION].convention.prepare([sample], [box])  # BGR 0-255
    assert not np.allclose(ours, theirs)
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(ours)).numpy()
    source = published.logits(MINIVISION, theirs)  # classes: spoof (2D), live, spoof (3D)
    np.testing.assert_allclose(logits, source[:, [1, 0, 2]], atol=1e-4)  # live first, the spoof classes in order
    assert FINE_TUNE.input_convention().classes == ("live", "spoof (2D)", "spoof (3D)")
    assert anchor_distance(model, anchor) == 0.0
    assert model.FTGenerator is not None  # a fresh Fourier branch, not anchored
    assert not any(name.startswith("FTGenerator.") for name in anchor.weights)


def test_a_model_with_the_same_classes_keeps_its_head():
    config = TrainConfig(variant="V2SE", input_size=128, crop="johnraivenolazo-1.5", init_from="johnraivenolazo 98.20")
    model, _ = from_reference(lambda: start_model(config))
    source = published.load("johnraivenolazo 98.20").model
    assert torch.equal(model.model.prob.weight, source.model.prob.weight)
    assert torch.equal(model.model.conv1.conv.weight, source.model.conv1.conv.weight)  # RGB / 255 already


@pytest.mark.parametrize(("changes", "message"), [
    ({"variant": "V2SE"}, "is a MiniFASNetV2 .* set variant='V2'"),
    ({"input_size": 128}, "set input_size=80"),
    ({"crop": "minivision-4.0"}, "set crop='minivision-2.7'"),
    ({"init_from": "hairymax bin 1.5", "variant": "V2SE", "input_size": 128, "crop": "hairymax-1.5"},
     "could not be shipped; fine-tune from one of 'minivision V2 2.7'"),
    ({"init_from": "my_model.pth"}, "init_from must name a published model"),
    ({"num_classes": 2}, "has 3 classes .* set num_classes=3"),
])
def test_a_source_that_does_not_fit_is_refused_with_the_remedy(changes, message):
    with pytest.raises(TrainingError, match=message):
        from_reference(lambda: start_model(dataclasses.replace(FINE_TUNE, **changes)))


def test_the_loss_pools_the_spoof_classes_so_p_spoof_is_their_sum():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    pooled = decision_logits(logits, FINE_TUNE)
    assert pooled.shape == (2, 2) and torch.equal(pooled[:, 0], logits[:, 0])
    torch.testing.assert_close(pooled.softmax(1)[:, 1], logits.softmax(1)[:, 1:].sum(1))
    two = torch.tensor([[0.3, -0.2]])
    assert torch.equal(decision_logits(two, TrainConfig()), two)  # live/spoof: unchanged, bit for bit
    six = torch.zeros(1, 6)
    assert decision_logits(six, TrainConfig(num_classes=6)) is six  # per attack type: the types themselves


def test_configuration_errors_name_the_stage_and_the_missing_source():
    with pytest.raises(TrainingError, match="freeze names unknown stages 'conv_7'; the classifier's stages are conv1"):
        dataclasses.replace(FINE_TUNE, freeze=("conv1", "conv_7"))
    with pytest.raises(TrainingError, match="set init_from too"):
        TrainConfig(anchor_weight=0.1)
    with pytest.raises(TrainingError, match="anchor_weight must be >= 0"):
        dataclasses.replace(FINE_TUNE, anchor_weight=-1.0)


def test_frozen_stages_keep_weights_and_statistics_and_the_anchor_pulls_back(data, tmp_path):
    frozen = ("conv1", "conv2_dw", "conv_23", "conv_3")
    config = dataclasses.replace(FINE_TUNE, freeze=frozen)
    start, _ = from_reference(lambda: start_model(config))
    result = train(config, *data, tmp_path / "frozen", progress=False, keep_epochs=True)
    before, after = start.state_dict(), result.model.state_dict()
    for key in before:  # weights and BatchNorm running statistics alike
        stage = key.split(".")[1] if key.startswith("model.") else None
        assert torch.equal(before[key], after[key]) == (stage in frozen), key
    distances = [row["anchor_distance"] for row in result.history]
    assert 0 < distances[0] <= distances[1]
    assert sorted(p.name for p in (tmp_path / "frozen" / EPOCHS_DIR).glob("*.pt")) == ["epoch_001.pt", "epoch_002.pt"]

    loose = train(dataclasses.replace(config, anchor_weight=0.0), *data, tmp_path / "loose", progress=False)
    assert loose.history[-1]["anchor_distance"] > distances[-1]  # the same run without L2-SP drifts further


def test_wise_ft_blends_floating_tensors_and_keeps_counters(tmp_path):
    config = TrainConfig(epochs=1, batch_size=2)
    first, second = config.build_model().state_dict(), TrainConfig(seed=1).build_model().state_dict()
    second = {key: value + 1 if value.is_floating_point() else value + 3 for key, value in second.items()}
    half = interpolate_weights(first, second, 0.5)
    key = "model.conv1.conv.weight"
    torch.testing.assert_close(half[key], (first[key] + second[key]) / 2)
    counter = "model.bn.num_batches_tracked"
    assert torch.equal(half[counter], second[counter])
    source_only = interpolate_weights(first, second, 0.0)
    assert all(torch.equal(source_only[k], first[k]) for k in first if first[k].is_floating_point())
    with pytest.raises(TrainingError, match="alpha must lie in"):
        interpolate_weights(first, second, 1.5)
    with pytest.raises(TrainingError, match="different tensors"):
        interpolate_weights(first, {key: second[key]}, 0.5)
    paths = [save_for_inference(config.build_model(), config, tmp_path / f"{name}.pt") for name in ("a", "b")]
    blends = interpolated_models(*paths, [0.25, 0.5], tmp_path / "wise")
    assert [p.name for p in blends.values()] == ["wise_0.25.pt", "wise_0.5.pt"]
    assert all(p.with_suffix(".json").is_file() for p in blends.values())
    assert load_classifier(blends[0.5]).threshold == 0.5

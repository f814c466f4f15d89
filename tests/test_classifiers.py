"""One interface for every classifier: the suite's model, its ONNX export, the published models by name."""

import numpy as np
import pytest
from skimage import data

from fasutils.core.errors import ModelError
from fasutils.core.paths import shipped_model
from fasutils.export.classifiers import MINIVISION_FUSED, SUITE, load_classifier
from fasutils.export.onnx_export import export_onnx
from fasutils.training.checkpoints import load_for_inference

IMAGES = [data.astronaut()] * 3
BOXES = [(170, 40, 110, 130), (160, 30, 130, 150), (0, 0, 60, 60)]  # the astronaut's face twice, a corner


def test_the_suite_model_scores_in_batches_the_same_as_at_once():
    suite = load_classifier()
    assert suite.name == SUITE and suite.convention.classes[0] == "live" and suite.convention.live_index == 0
    at_once, batched = suite.live_probability(IMAGES, BOXES), suite.live_probability(IMAGES, BOXES, batch_size=2)
    assert at_once.shape == (3,) and ((0 <= at_once) & (at_once <= 1)).all()
    np.testing.assert_allclose(batched, at_once, atol=1e-6)
    assert len(suite.sha256()) == 64 and suite.live_probability([], []).shape == (0,)


def test_an_onnx_export_scores_like_the_pytorch_model(tmp_path):
    model, convention = load_for_inference(shipped_model())
    path = export_onnx(model, tmp_path / "suite.onnx", convention)
    exported = load_classifier(path)
    assert exported.convention == convention and exported.files == (path,)
    np.testing.assert_allclose(exported.live_probability(IMAGES, BOXES),
                               load_classifier(SUITE).live_probability(IMAGES, BOXES), atol=1e-5)


def test_unknown_names_and_files_are_refused_with_the_choices(tmp_path):
    with pytest.raises(ModelError, match="'hairymax' is not a classifier .* 'hairymax bin 1.5'"):
        load_classifier("hairymax")
    with pytest.raises(ModelError, match="missing.pt"):
        load_classifier(tmp_path / "missing.pt")


@pytest.mark.reference
def test_published_models_come_with_their_own_conventions(reference_dir):
    hairymax, fused = load_classifier("hairymax bin 1.5"), load_classifier(MINIVISION_FUSED)
    assert hairymax.convention.input_size == (128, 128) and hairymax.convention.color_order == "rgb"
    assert fused.convention.color_order == "bgr" and len(fused.files) == 2
    for classifier in (hairymax, fused):
        scores = classifier.live_probability(IMAGES, BOXES)
        assert scores.shape == (3,) and np.isfinite(scores).all()

"""The suite's shipped model (models/, chosen by notebook 03 in full mode, put there by `make ship`): present, small,
loadable, what its configuration and card say, and right on minivision's three real photos at its threshold."""

import json

import pytest
from conftest import SAMPLE_BOXES

from fasutils.core import assets
from fasutils.core.images import read_image
from fasutils.core.paths import shipped_model
from fasutils.export.classifiers import load_classifier
from fasutils.models.weights import load_minifasnet
from fasutils.training.config import TrainConfig
from fasutils.training.transfer import SHIPPABLE_LICENCES, source_licence

SHIPPED = shipped_model()
ABOUT = json.loads(SHIPPED.with_suffix(".json").read_text())
CONFIG = TrainConfig.from_dict(ABOUT["config"])


def test_the_shipped_model_is_small_loads_strictly_and_is_what_its_configuration_says():
    assert SHIPPED.stat().st_size <= 2.5e6
    loaded = load_minifasnet(SHIPPED)
    assert (loaded.variant, loaded.input_size, loaded.num_classes, loaded.has_fourier) == (
        CONFIG.variant, (CONFIG.input_size, CONFIG.input_size), CONFIG.num_classes, False)
    assert ABOUT["classes"] == list(CONFIG.input_convention().classes) and ABOUT["classes"][0] == "live"
    assert ABOUT["quick"] is False, "a QUICK run's model was shipped"
    assert 0.0 < ABOUT["threshold"] < 1.0 and load_classifier("suite").threshold == ABOUT["threshold"]


def test_the_card_names_the_source_its_licence_the_changes_and_the_threshold():
    card = SHIPPED.with_suffix(".md").read_text()
    assert card.startswith(f"# `{SHIPPED.name}`") and f"{ABOUT['threshold']:.4f}" in card
    if CONFIG.init_from:
        licence = source_licence(CONFIG.init_from)
        assert licence.startswith(SHIPPABLE_LICENCES)
        assert CONFIG.init_from in card and licence in card and "Changes (Apache-2.0 §4)" in card
    for section in ("## Measured", "## Reproducibility", "## Limitations"):
        assert section in card


@pytest.mark.reference
def test_the_shipped_model_accepts_the_real_live_photo_and_rejects_the_real_attacks(reference_dir):
    model = load_classifier("suite")
    images = [read_image(assets.path(name)) for name in SAMPLE_BOXES]
    live, printed, replayed = model.live_probability(images, list(SAMPLE_BOXES.values()))
    assert live >= model.threshold > max(printed, replayed)

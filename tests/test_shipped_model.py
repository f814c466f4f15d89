"""The suite's shipped model (models/, trained by notebook 03 in full mode): present, small, loadable, sane."""

import json

import pytest
from conftest import SAMPLE_BOXES

from fasutils.core import assets
from fasutils.core.paths import shipped_model
from fasutils.data.records import Record
from fasutils.models.weights import load_minifasnet
from fasutils.training.config import TrainConfig
from fasutils.training.loop import predict_spoof

SHIPPED = shipped_model()


def test_the_shipped_model_is_small_and_loads_strictly_as_its_card_says():
    assert SHIPPED.stat().st_size <= 2.5e6
    loaded = load_minifasnet(SHIPPED)
    assert (loaded.variant, loaded.input_size, loaded.num_classes, loaded.has_fourier) == ("V2SE", (80, 80), 2, False)
    about = json.loads(SHIPPED.with_suffix(".json").read_text())
    config = TrainConfig.from_dict(about["config"])
    assert (config.variant, config.input_size, config.crop, config.num_classes) == ("V2SE", 80, "minivision-2.7", 2)
    assert about["classes"] == ["live", "spoof"]


@pytest.mark.reference
def test_the_shipped_model_catches_the_real_attacks_and_ranks_the_live_face_lowest(reference_dir):
    records = [Record(path=assets.path(name), is_spoof="live" not in name, attack_type="live" if "live" in name
                      else "print" if "print" in name else "replay", box=box) for name, box in SAMPLE_BOXES.items()]
    config = TrainConfig.from_dict(json.loads(SHIPPED.with_suffix(".json").read_text())["config"])
    model = load_minifasnet(SHIPPED).model.eval()
    live, printed, replayed = predict_spoof(model, records, config)[0]
    assert printed > 0.8 and replayed > 0.8 and live < min(printed, replayed)

import numpy as np
import pytest
from conftest import SAMPLE_BOXES as SAMPLES

from fasutils.core import assets
from fasutils.core.images import read_image
from fasutils.evaluation.realism import JUDGES, class_probabilities, spoof_probability


@pytest.mark.reference
@pytest.mark.parametrize("judge", JUDGES.values(), ids=list(JUDGES))
def test_every_judge_gets_the_real_samples_right_with_its_own_convention(reference_dir, judge):
    images = [read_image(assets.path(name)) for name in SAMPLES]
    probabilities = class_probabilities(judge, images, list(SAMPLES.values()))
    assert probabilities.shape == (3, len(judge.classes))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    live, print_attack, replay = spoof_probability(judge, images, list(SAMPLES.values()))
    assert live < 0.1 and print_attack > 0.9 and replay > 0.9
    if judge.classes == ("live", "print", "replay"):
        assert probabilities[1].argmax() == 1 and probabilities[2].argmax() == 2


@pytest.mark.reference
def test_wrong_colour_order_changes_the_verdict(reference_dir):
    """The conventions matter: fed BGR, hairymax calls minivision's print sample live."""
    judge = JUDGES["hairymax bin 1.5"]
    rgb = read_image(assets.path("minivision/sample-print-F1"))
    box = SAMPLES["minivision/sample-print-F1"]
    assert spoof_probability(judge, [rgb], [box])[0] > 0.5 > spoof_probability(judge, [rgb[..., ::-1].copy()], [box])[0]


@pytest.mark.reference
def test_realism_table_counts_the_share_judged_spoof_per_attack_type(reference_dir):
    from fasutils.data.records import Record
    from fasutils.evaluation.realism import judge_records, realism_table

    kinds = {"minivision/sample-live-T1": "live", "minivision/sample-print-F1": "print",
             "minivision/sample-replay-F2": "replay"}
    records = [Record(path=assets.path(name), is_spoof=kind != "live", attack_type=kind, box=SAMPLES[name])
               for name, kind in kinds.items()]
    scores = judge_records(records, progress=False)
    assert list(scores["attack_type"]) == ["live", "print", "replay"]
    table = realism_table(scores)
    assert table.loc["live"].drop("images").max() == 0.0 and table.loc["print"].drop("images").min() == 1.0
    assert list(table["images"]) == [1, 1, 1] and set(JUDGES) <= set(table.columns)

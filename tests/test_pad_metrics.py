"""PAD metrics against hand computations on small crafted score sets (score = P(live), accepted when >= t)."""

from __future__ import annotations

import json
from statistics import NormalDist

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from fasutils.core.errors import EvaluationError, FasError
from fasutils.data.records import ATTACK_TYPES
from fasutils.evaluation.figures import draw_det
from fasutils.evaluation.metrics import ScoreSet, choose_threshold, evaluate_scores
from fasutils.evaluation.rates import Threshold, percent


def scored(**groups: list[float]) -> ScoreSet:
    """A ScoreSet from scores per attack type: ``scored(live=[...], print=[...])``."""
    return ScoreSet.of([s for scores in groups.values() for s in scores],
                       [kind for kind, scores in groups.items() for _ in scores])


def hundredths(first: int, last: int, scale: int = 100) -> list[float]:
    return [i / scale for i in range(first, last + 1)]


def pair_auc(live: list[float], attack: list[float]) -> float:
    """AUC by definition: P(live score > attack score), ties counting one half."""
    return float(np.mean([1.0 if s > a else 0.5 if s == a else 0.0 for s in live for a in attack]))


def test_perfect_separation_has_auc_1_and_eer_0_at_the_lowest_live_score():
    data = scored(live=[0.9, 0.8, 0.7], print=[0.3, 0.2, 0.1])
    assert data.roc().auc == 1.0
    assert data.eer().value == 0.0 and data.eer().threshold == 0.7
    rates = data.error_rates(0.5)
    assert (rates.apcer_max, rates.bpcer, rates.acer) == (0.0, 0.0, 0.0)


def test_ties_across_classes_count_as_accepted_and_give_chance_level():
    data = scored(live=[0.5, 0.5], print=[0.5, 0.5])
    assert data.roc().auc == 0.5
    assert data.eer().value == 0.5
    assert data.error_rates(0.5).apcer_max == 1.0 and data.error_rates(0.5).bpcer == 0.0  # >= accepts a tie
    above = np.nextafter(0.5, 1)
    assert data.error_rates(above).apcer_max == 0.0 and data.error_rates(above).bpcer == 1.0


def test_a_three_threshold_roc_matches_the_hand_computed_points_area_and_eer():
    # live 0.9, 0.5; attack 0.5, 0.1. Thresholds 0.9 -> (FPR 0, TPR 1/2); 0.5 -> (1/2, 1); 0.1 -> (1, 1).
    data = scored(live=[0.9, 0.5], replay=[0.5, 0.1])
    roc = data.roc()
    assert roc.fpr.tolist() == [0, 0, 0.5, 1] and roc.tpr.tolist() == [0, 0.5, 1, 1]
    assert roc.thresholds[1:].tolist() == [0.9, 0.5, 0.1] and roc.thresholds[0] > 0.9  # first: accepts nobody
    assert roc.auc == pytest.approx(0.875) == pair_auc([0.9, 0.5], [0.5, 0.1])  # (1 + 1 + 1/2 + 1) / 4
    # FPR - FNR is -1/2 at (0, 1/2) and +1/2 at (1/2, 1): halfway, EER = 1/4 at threshold (0.9 + 0.5) / 2.
    assert data.eer().value == pytest.approx(0.25) and data.eer().threshold == pytest.approx(0.7)


def test_eer_interpolates_linearly_between_unequal_steps():
    # (FPR, FNR) at threshold 0.7 is (2/3, 3/4), at 0.6 (1, 3/4): FPR - FNR goes from -1/12 to +1/4, so the
    # crossing is a quarter of the way: EER = 2/3 + 1/4 * 1/3 = 3/4, threshold 0.7 - 1/4 * 0.1.
    data = scored(live=[0.9, 0.5, 0.45, 0.3], mask=[0.8, 0.7, 0.6])
    assert data.eer().value == pytest.approx(0.75)
    assert data.eer().threshold == pytest.approx(0.675)


def test_auc_agrees_with_pair_counting_and_sklearn_on_random_tied_scores():
    rng = np.random.default_rng(3)
    live, attack = np.round(rng.uniform(0.3, 1, 40), 1), np.round(rng.uniform(0, 0.7, 60), 1)
    data = scored(live=live.tolist(), print=attack.tolist())
    assert data.roc().auc == pytest.approx(pair_auc(live.tolist(), attack.tolist()))
    assert data.roc().auc == pytest.approx(roc_auc_score(data.is_live, data.scores))
    assert data.roc(drop_intermediate=True).auc == pytest.approx(data.roc().auc)


def test_overall_apcer_is_the_worst_attack_type_and_pooled_is_reported_apart():
    data = scored(live=[0.9, 0.8, 0.7, 0.6], print=[0.65, 0.2, 0.1, 0.1], replay=[0.55, 0.52, 0.3, 0.1])
    rates = data.error_rates(0.5)
    assert rates.apcer == {"print": 0.25, "replay": 0.5}
    assert rates.apcer_max == 0.5 and rates.worst_type == "replay"
    assert rates.apcer_pooled == 3 / 8 and rates.bpcer == 0.0 and rates.acer == 0.25
    assert [(row.attack_type, row.count, row.errors) for row in rates.rows] == [
        ("live", 4, 0), ("print", 4, 1), ("replay", 4, 2)]
    assert rates.rows[1].mean_score == pytest.approx((0.65 + 0.2 + 0.1 + 0.1) / 4)
    assert data.error_rates(0.62).bpcer == 0.25  # live 0.6 is rejected


def test_confusion_matrix_counts_true_class_against_decision():
    data = scored(live=[0.9, 0.8, 0.3], print=[0.6, 0.2], other=[0.1])
    assert data.confusion(0.5).labels == ("live", "attack")
    assert data.confusion(0.5).matrix == ((2, 1), (1, 2))


def test_bpcer20_takes_the_lowest_threshold_where_every_type_stays_within_5_percent():
    live = [0.40, 0.45, 0.48, 0.49, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]
    data = scored(live=live, print=hundredths(1, 20), replay=hundredths(31, 50))
    bpcer20, bpcer100 = data.bpcer_at_apcer()
    # Each type of 20 may let 1 through: just above replay's second highest (0.49); print's (0.19) is lower.
    assert bpcer20.name == "BPCER20" and bpcer20.threshold == np.nextafter(0.49, 1)
    assert bpcer20.value == 0.4 and bpcer20.achieved == 0.05 and bpcer20.n_negatives == 20  # 4 of 10 live rejected
    assert data.error_rates(0.49).apcer["replay"] == 0.1  # at the bound itself replay would exceed 5 %
    assert bpcer100.name == "BPCER100" and bpcer100.value is None and bpcer100.threshold is None
    assert "not reachable" in bpcer100.reason and "20 print samples" in bpcer100.reason and "100" in bpcer100.reason


def test_bpcer20_is_not_reachable_when_one_attack_type_is_small():
    data = scored(live=[0.9, 0.1], print=hundredths(1, 30), mask=[0.2] * 19)
    point = data.bpcer_at_apcer((0.05,))[0]
    assert point.value is None and point.n_negatives == 19 and "19 mask samples" in point.reason


def test_tpr_at_fpr_is_the_best_roc_point_within_the_target_and_named_correctly():
    rng = np.random.default_rng(7)
    live, attack = np.round(rng.normal(0.7, 0.15, 300), 2), np.round(rng.normal(0.3, 0.15, 1000), 2)
    data = scored(live=live.tolist(), replay=attack.tolist())
    fpr, tpr, _ = roc_curve(data.is_live, data.scores, drop_intermediate=False)  # independent of the module
    for point, target in zip(data.tpr_at_fpr(), (1e-2, 5e-3, 1e-3), strict=True):
        assert point.value == pytest.approx(tpr[fpr <= target].max())
        assert point.achieved <= target and point.n_negatives == 1000 and point.reason is None
        assert point.achieved == np.mean(attack >= point.threshold)
    assert [point.name for point in data.tpr_at_fpr()] == ["TPR@FPR=1e-2", "TPR@FPR=5e-3", "TPR@FPR=1e-3"]


def test_tpr_at_fpr_is_not_reachable_with_too_few_attack_samples():
    data = scored(live=[0.9, 0.8], print=hundredths(1, 150, scale=1000))
    reachable, at_5e3, at_1e3 = data.tpr_at_fpr()
    assert reachable.value == 1.0 and reachable.achieved == 1 / 150
    assert at_5e3.value is None and at_1e3.value is None and at_1e3.n_negatives == 150
    assert "150 attack samples" in at_1e3.reason and "at least 1000" in at_1e3.reason


def test_threshold_chosen_on_dev_is_applied_unchanged_to_test():
    dev = ScoreSet.of(hundredths(1, 20) + hundredths(50, 69), ["print"] * 20 + ["live"] * 20)
    threshold = choose_threshold(dev.scores, ["print"] * 20 + ["live"] * 20, rule="apcer", target=0.05)
    assert threshold.value == np.nextafter(0.19, 1) and threshold.rule == "apcer" and threshold.target == 0.05
    assert threshold.achieved.apcer_max == 0.05 and threshold.achieved.bpcer == 0.0
    assert "development split" in threshold.describe() and "5.00%" in threshold.describe()
    test = evaluate_scores([0.1, 0.19, 0.2, 0.3, 0.15, 0.6], ["print"] * 4 + ["live"] * 2, threshold,
                           model="m", dataset="test", n_resamples=0)
    assert test.threshold is threshold and test.rates.threshold == threshold.value
    assert test.rates.apcer_max == 0.5 and test.rates.bpcer == 0.5  # 0.2 and 0.3 pass, 0.19 does not; 0.15 rejected
    assert dev.threshold("fpr", 0.05).value == threshold.value  # one attack type: worst type = pooled
    assert dev.threshold("eer").value == pytest.approx(dev.eer().threshold) and dev.threshold("eer").target is None


def test_a_float_threshold_counts_as_fixed():
    report = evaluate_scores([0.9, 0.2], ["live", "print"], 0.5, model="m", dataset="d", n_resamples=0)
    assert report.threshold == Threshold.fixed(0.5) and report.threshold.describe() == "0.5000: fixed (given)"


def bootstrap_data(seed: int = 1) -> ScoreSet:
    rng = np.random.default_rng(seed)
    types = rng.choice(["live", "print", "replay"], 150)
    return ScoreSet.of(np.clip(rng.normal(np.where(types == "live", 0.65, 0.35), 0.15), 0, 1), types)


def test_bootstrap_is_reproducible_with_a_seed_and_contains_the_point_estimates():
    data = bootstrap_data()
    first = data.bootstrap(0.5, n_resamples=200, seed=4)
    assert first == data.bootstrap(0.5, n_resamples=200, seed=4)
    assert first.intervals != data.bootstrap(0.5, n_resamples=200, seed=5).intervals
    assert first.unit == "sample" and first.n_used == first.n_resamples == 200
    rates = data.error_rates(0.5)
    point = {"auc": data.roc().auc, "eer": data.eer().value, "apcer": rates.apcer_max, "bpcer": rates.bpcer,
             "acer": rates.acer}
    for name, (low, high) in first.intervals.items():
        assert low <= point[name] <= high, name


def test_subject_bootstrap_keeps_subjects_whole():
    # Subject a's 10 prints are all accepted, subject b's all rejected: APCER is 1/2. Drawing whole subjects
    # gives aa (APCER 1), ab (1/2) or bb (0); resampling single samples stays near 1/2.
    live, accepted, rejected = [0.9] * 10, [0.8] * 10, [0.1] * 10
    scores = live + accepted + live + rejected
    types = ["live"] * 10 + ["print"] * 10 + ["live"] * 10 + ["print"] * 10
    subjects = ["a"] * 20 + ["b"] * 20
    by_subject = ScoreSet.of(scores, types, subjects).bootstrap(0.5, n_resamples=300)
    by_sample = ScoreSet.of(scores, types).bootstrap(0.5, n_resamples=300)
    assert by_subject.unit == "subject" and by_subject.intervals["apcer"] == (0.0, 1.0)
    low, high = by_sample.intervals["apcer"]
    assert 0.2 < low < 0.5 < high < 0.8


def test_subject_resamples_missing_a_class_are_left_out_and_counted():
    data = ScoreSet.of([0.9, 0.8, 0.2, 0.1], ["live", "live", "print", "print"], ["a", "a", "b", "b"])
    result = data.bootstrap(0.5, n_resamples=100, seed=0)
    assert 0 < result.n_used < 100  # aa and bb hold one class only


def test_report_dict_is_json_with_none_and_reasons_instead_of_nan():
    data = bootstrap_data()
    report = evaluate_scores(data.scores, np.array(ATTACK_TYPES)[data.codes], 0.5, model="m", dataset="d",
                             n_resamples=20)
    document = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert document["counts"] == data.counts() and document["n_samples"] == 150
    assert document["tpr_at_fpr"][2]["value"] is None and "not reachable" in document["tpr_at_fpr"][2]["reason"]
    assert document["at_threshold"]["apcer_max"] == data.error_rates(0.5).apcer_max
    assert document["bootstrap"]["n_resamples"] == 20
    histogram = document["curves"]["score_histogram"]
    assert {kind: sum(counts) for kind, counts in histogram["counts"].items()} == data.counts()
    skipped = evaluate_scores(data.scores, np.where(data.is_live, "live", "other"), 0.5, model="m", dataset="d",
                              n_resamples=0).to_dict()
    assert skipped["bootstrap"] is None and "n_resamples=0" in skipped["notes"]["bootstrap"]


@pytest.mark.parametrize(("scores", "types", "message"), [
    ([0.1, float("nan"), 0.3, float("nan")], ["live", "print", "live", "print"],
     r"2 NaN or infinite value\(s\), the first at index 1"),
    ([0.9, 0.8], ["live", "live"], r"ROC undefined: only live samples \(2\)"),
    ([0.1, 0.2], ["print", "mask"], r"ROC undefined: only attack samples \(print 1, mask 1\)"),
    ([], [], "the input is empty"),
    ([0.1, 0.2, 0.3], ["live", "print"], "3 scores but 2 attack types"),
    ([0.1, 0.2, 0.3], ["live", "photo", "spoof"],
     r"unknown attack type\(s\) 'photo', 'spoof' \(2 samples, the first at index 1\); the vocabulary is live, print"),
    ([0.1, 0.2], [True, False], "not booleans"),
    ([[0.1, 0.9], [0.8, 0.2]], ["live", "print"], r"1-D\), not shape \(2, 2\)"),
])
def test_bad_input_raises_a_metric_error_naming_the_problem(scores, types, message):
    with pytest.raises(EvaluationError, match=message) as raised:
        ScoreSet.of(scores, types)
    assert isinstance(raised.value, FasError) and isinstance(raised.value, ValueError)


def test_subject_ids_must_match_and_be_complete():
    with pytest.raises(EvaluationError, match="2 scores but 3 subject ids"):
        ScoreSet.of([0.9, 0.1], ["live", "print"], ["a", "b", "c"])
    with pytest.raises(EvaluationError, match=r"1 samples have no subject id \(the first at index 1\)"):
        ScoreSet.of([0.9, 0.1], ["live", "print"], ["a", None])


def test_a_hard_threshold_below_the_resolution_raises():
    data = scored(live=[0.9, 0.8], print=hundredths(1, 50))
    with pytest.raises(EvaluationError, match=r"FPR <= 0.10% cannot be measured with 50 attack samples.*at least 1000"):
        data.threshold("fpr", 1e-3)
    with pytest.raises(EvaluationError, match=r"APCER <= 1.00% cannot be measured with 50 print samples"):
        choose_threshold(data.scores, ["live"] * 2 + ["print"] * 50, rule="apcer", target=0.01)
    with pytest.raises(EvaluationError, match="unknown threshold rule 'hter'; choose one of apcer, fpr, eer"):
        data.threshold("hter")
    with pytest.raises(EvaluationError, match="between 0 and 1"):
        data.tpr_at_fpr((1.5,))


def test_det_is_drawn_on_probit_axes_with_percent_ticks():
    data = bootstrap_data()
    axis = Figure().add_subplot()
    draw_det(axis, {"m": data.det()}, {"m": (0.1, 0.2)})
    labels = [label.get_text() for label in axis.get_xticklabels()]
    assert "1%" in labels and "10%" in labels and "0.1%" in labels
    assert axis.get_xticks()[labels.index("10%")] == pytest.approx(NormalDist().inv_cdf(0.1))
    assert axis.lines[1].get_xydata().tolist() == [[pytest.approx(NormalDist().inv_cdf(0.1)),
                                                    pytest.approx(NormalDist().inv_cdf(0.2))]]
    assert np.isfinite(axis.lines[0].get_xydata()).all()  # rates of 0 and 1 clipped to the axis edges


def test_percent_formats_rates_as_the_report_prints_them():
    assert percent(0.0345) == "3.45%" and percent(1.0) == "100.00%"

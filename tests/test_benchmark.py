"""The latency harness on tiny models: it runs, records every field, and its ratios come from paired rounds."""

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from fasutils.benchmark import interleaved_latency, latency_table, onnx_runner, profile_ops
from fasutils.onnx_export import OnnxModelError


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """input (N, 4) -> MatMul -> Relu -> logits (N, 2)."""
    weights = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(4, 2), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["input", "w"], ["z"]),
                               helper.make_node("Relu", ["z"], ["logits"])], "tiny",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])], [weights])
    path = tmp_path_factory.mktemp("bench") / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


def test_runs_are_interleaved_and_every_call_recorded(tiny_model):
    calls = []
    runners = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b"),
               "onnx": onnx_runner(tiny_model, np.ones((1, 4)), threads=1)}
    samples = interleaved_latency(runners, rounds=3, per_round=2, warmup=1, progress=False)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3  # warm-up, then round-robin rounds
    assert list(samples.columns) == ["model", "round", "ms"] and len(samples) == 3 * 3 * 2
    assert (samples["ms"] > 0).all() and samples.groupby("model").size().to_dict() == {"a": 6, "b": 6, "onnx": 6}


def test_ratios_are_medians_of_per_round_paired_ratios():
    samples = pd.DataFrame({"model": ["base"] * 4 + ["fast"] * 4, "round": [0, 0, 1, 1] * 2,
                            "ms": [10, 10, 20, 20, 5, 5, 14, 14]})  # rounds: 0.5 then 0.7 of the baseline
    table = latency_table(samples, baseline="base", batch=2)
    assert table.loc["fast", "× base (paired)"] == pytest.approx(0.6)
    assert table.loc["fast", "× base (paired)"] != pytest.approx(table.loc["fast", "p50 ms"] / table.loc["base", "p50 ms"])
    assert table.loc["base", "p50 ms"] == 15 and table.loc["base", "images/s"] == pytest.approx(2 * 1e3 / 15)
    assert list(table.columns) == ["p50 ms", "p90 ms", "p99 ms", "images/s", "× base (paired)"]
    with pytest.raises(ValueError, match="baseline 'nope'"):
        latency_table(samples, baseline="nope")


def test_the_profiler_names_the_operators_and_their_precision(tiny_model):
    table = profile_ops(tiny_model, np.ones((3, 4)), runs=20)
    assert set(table.index) <= {"MatMul", "Relu", "FusedMatMul", "Gemm"} and len(table) >= 1
    assert table["share"].sum() == pytest.approx(1.0) and not table["integer"].any()
    assert (table["ms per run"] > 0).all()


def test_a_file_that_is_not_onnx_is_named(tmp_path):
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"\x00\x01")
    with pytest.raises(OnnxModelError, match="model.onnx"):
        profile_ops(bogus, np.ones((1, 4)))
    with pytest.raises(OnnxModelError, match="model.onnx"):
        onnx_runner(bogus, np.ones((1, 4)), threads=1)

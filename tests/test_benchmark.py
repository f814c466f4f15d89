"""The benchmark harness on tiny models: it runs, records every field, its ratios come from paired rounds and its
memory from a child process; the reference runtimes and the command line on the real files."""

import json

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from fasutils.benchmark.facts import BenchModel, onnx_arithmetic, peak_memory_mb
from fasutils.benchmark.runners import onnx_runner, profile_ops
from fasutils.benchmark.suite import pipeline_fps, run_benchmark, suite_models, summary
from fasutils.benchmark.timing import interleaved_latency, latency_table
from fasutils.core.errors import ExportError, FasError
from fasutils.detection.yolov7 import published_files


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
    ratio_of_medians = table.loc["fast", "p50 ms"] / table.loc["base", "p50 ms"]
    assert table.loc["fast", "× base (paired)"] != pytest.approx(ratio_of_medians)
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
    with pytest.raises(ExportError, match="model.onnx"):
        profile_ops(bogus, np.ones((1, 4)))
    with pytest.raises(ExportError, match="model.onnx"):
        onnx_runner(bogus, np.ones((1, 4)), threads=1)


@pytest.fixture(scope="module")
def tiny_conv(tmp_path_factory):
    """input (N, 3, H, W) -> Conv 3->2 3x3 -> Relu -> GlobalAveragePool -> Flatten -> MatMul 2x2 -> logits (N, 2)."""
    return _conv_model(tmp_path_factory.mktemp("bench") / "conv.onnx", "N")


def _conv_model(path, batch, padding=0):
    """The tiny convolutional model with batch dimension ``batch`` and ``padding`` unused float weights."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.normal(size=(2, 3, 3, 3)).astype(np.float32), "w"),
               numpy_helper.from_array(rng.normal(size=(2, 2)).astype(np.float32), "m")]
    weights += [numpy_helper.from_array(np.zeros(padding, np.float32), "unused")] if padding else []
    nodes = [helper.make_node("Conv", ["input", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]), helper.make_node("MatMul", ["f", "m"], ["logits"])]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                            [batch, 3, "H", "W"])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 2])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


def test_arithmetic_counts_the_products_alike_in_fp32_and_int8(tiny_conv, tmp_path):
    from fasutils.export.quantization import quantize

    weights, macs = onnx_arithmetic(tiny_conv, (8, 8))
    assert weights == 2 * 3 * 3 * 3 + 2 * 2
    assert macs == (2 * 8 * 8) * (3 * 3 * 3) + 2 * 2  # each conv output sums 27 products, the MatMul 2 x 2
    int8 = quantize(tiny_conv, tmp_path / "int8.onnx", "dynamic")  # ConvInteger + MatMulInteger
    assert onnx_arithmetic(int8, (8, 8)) == (weights, macs)
    assert onnx_arithmetic(tiny_conv, (16, 8))[1] == 2 * macs - 4


def test_a_file_fixed_to_batch_one_runs_a_batch_image_by_image(tmp_path):
    fixed = _conv_model(tmp_path / "fixed.onnx", 1)
    outputs = onnx_runner(fixed, np.ones((3, 3, 8, 8)), threads=1)()
    assert len(outputs) == 3 and outputs[0][0].shape == (1, 2)
    assert onnx_runner(fixed, np.ones((1, 3, 8, 8)), threads=1)()[0].shape == (1, 2)


def test_benchmark_records_every_field_and_pairs_its_ratios(tiny_conv, tmp_path):
    models = [BenchModel("small", "classifier", "onnxruntime", (tiny_conv,), (8, 8), (1, 4)),
              BenchModel("large", "classifier", "onnxruntime", (tiny_conv,), (32, 32), (1, 4), note="4x the pixels")]
    result = run_benchmark(models, threads=(1,), batches=(1, 4), baselines={"classifier": "small"}, rounds=3,
                           per_round=4, warmup=1, progress=False)
    assert list(result.models.index) == ["small", "large"] and not result.models.drop(columns="note").isna().any().any()
    assert list(result.models.columns) == ["task", "runtime", "input", "size MB", "weights", "MACs", "peak RSS MB",
                                           "note"]
    assert result.models.loc["large", "input"] == "32x32" and (result.models["peak RSS MB"] > 0).all()
    table = result.table.set_index(["model", "batch"])
    assert len(table) == 4 and not table.isna().any().any() and (table["baseline"] == "small").all()
    assert np.allclose(table["images/s"], table.index.get_level_values("batch") * 1e3 / table["p50 ms"])
    macs = table.index.get_level_values("model").map(result.models["MACs"])
    assert np.allclose(table["GFLOP/s"], 2 * macs * table.index.get_level_values("batch") / (table["p50 ms"] * 1e6))
    calls = result.samples.groupby(["model", "batch"]).size()
    assert calls[("small", 1)] == 3 * 4 and calls[("small", 4)] == 3 * 1  # per_round counts images
    for batch in (1, 4):  # the ratio, by hand: median over rounds of the per-round median ratios
        per_round = result.samples[result.samples["batch"] == batch].groupby(["round", "model"])["ms"].median()
        by_hand = (per_round.xs("large", level="model") / per_round.xs("small", level="model")).median()
        assert table.loc[("large", batch), "× baseline (paired)"] == pytest.approx(by_hand)
        assert table.loc[("small", batch), "× baseline (paired)"] == 1


def test_results_are_written_as_csv_and_json_and_summarised(tiny_conv, tmp_path):
    model = BenchModel("tiny", "classifier", "onnxruntime", (tiny_conv,), (8, 8), (1, 2))
    result = run_benchmark([model], threads=(1, 2), batches=(1, 2), baselines={}, rounds=2, per_round=2, warmup=1,
                           memory=False, progress=False)
    written = result.write(tmp_path / "out")
    assert [p.name for p in written] == ["models.csv", "latency.csv", "samples.csv", "benchmark.json"]
    stored = json.loads((tmp_path / "out" / "benchmark.json").read_text())
    assert {"cpu", "logical cores", "onnxruntime", "ncnn", "cpu extensions"} <= set(stored["machine"])
    assert stored["settings"]["threads"] == [1, 2] and len(stored["latency"]) == 4
    assert len(pd.read_csv(written[1])) == 4 and len(pd.read_csv(written[2])) == len(result.samples)
    row = summary(result).loc["tiny"]
    assert {"p50 ms 1T", "p50 ms 2T", "img/s b2 1T", "img/s b2 2T", "GFLOP/s 1T", "MMACs"} <= set(row.index)
    assert np.isnan(row["× baseline (paired) 1T"])  # no baseline named


def test_figures_show_every_model_with_titles_and_axis_labels(tiny_conv):
    import matplotlib

    matplotlib.use("Agg")
    from fasutils.benchmark.figures import (
        latency_distributions,
        latency_vs_size,
        thread_scaling,
    )

    models = [BenchModel("conv", "classifier", "onnxruntime", (tiny_conv,), (8, 8)),
              BenchModel("det", "detector", "onnxruntime", (tiny_conv,), (16, 16))]
    result = run_benchmark(models, threads=(1, 2), batches=(1,), baselines={}, rounds=2, per_round=2, warmup=1,
                           memory=False, progress=False)
    scatter = latency_vs_size(result.models, result.table).axes[0]
    assert [len(c.get_offsets()) for c in scatter.collections] == [1, 1] and len(scatter.texts) == 2
    boxes = latency_distributions(result.samples).axes
    assert [a.get_title() for a in boxes] == ["batch 1, 1 thread(s)", "batch 1, 2 thread(s)"]
    assert [t.get_text() for t in boxes[0].get_yticklabels()] == ["conv", "det"]
    bars = thread_scaling(result.table).axes[0]
    assert len(bars.patches) == 2 and bars.get_legend_handles_labels()[1] == ["2 threads"]
    for axis in (scatter, *boxes, bars):
        assert axis.get_title() and axis.get_xlabel()
    matplotlib.pyplot.close("all")


def test_peak_memory_is_measured_in_a_child_and_grows_with_the_weights(tiny_conv, tmp_path):
    heavy = _conv_model(tmp_path / "heavy.onnx", "N", padding=16 * 2**20)  # 64 MB of unused weights
    small, large = (peak_memory_mb(BenchModel(n, "classifier", "onnxruntime", (p,), (8, 8)))
                    for n, p in (("small", tiny_conv), ("heavy", heavy)))
    assert 0 < small < 64 < large


def test_pipeline_fps_times_every_photo_and_counts_the_faces():
    from fasutils.data.faces import Face
    from fasutils.data.input_convention import JOHNRAIVENOLAZO
    from fasutils.detection.pipeline import Pipeline
    from fasutils.export.classifiers import Classifier

    class TwoFaces:
        def detect(self, image_rgb):
            return [Face((2.0, 2.0, 8.0, 8.0), np.zeros((5, 2), np.float32), 0.9)] * 2

    always_live = Classifier("live", JOHNRAIVENOLAZO, lambda images, boxes: np.ones(len(boxes)))
    pipelines = {"a": Pipeline(TwoFaces(), [always_live]), "b": Pipeline(TwoFaces(), [always_live, always_live])}
    photos = [np.zeros((20, 30, 3), np.uint8)] * 3
    table = pipeline_fps(pipelines, photos, rounds=2, baseline="a", progress=False)
    assert list(table.columns) == ["ms per frame", "frames/s", "× a (paired)", "faces"]
    assert table["faces"].tolist() == [6, 6] and table.loc["a", "× a (paired)"] == 1
    assert np.allclose(table["ms per frame"] * table["frames/s"], 1e3)


def test_unknown_model_names_are_refused_with_the_list(tmp_path):
    with pytest.raises(FasError, match="no benchmark model matches 'nope'.*YuNet 640 OpenCV"):
        suite_models(tmp_path, ["nope", "yunet"])


def test_the_reference_runtimes_run_and_count(reference_dir, tmp_path):
    models = suite_models(tmp_path, ["yunet"])  # no export needed
    assert [m.name for m in models] == ["YuNet 640 OpenCV", "YuNet 640 ORT"] and not list(tmp_path.iterdir())
    opencv, _ = models
    assert len(opencv.runner(2, threads=1)()) == 2  # faces of two images, one list each
    assert opencv.facts(memory=False)["MACs"] == 344_224_000  # OpenCV Zoo's YuNet 2023mar at 640x640
    ncnn = BenchModel("ncnn", "detector", "ncnn", published_files(), (288, 512))
    outputs = ncnn.runner(2, threads=1)()
    assert len(outputs) == 2 and [np.array(o).shape for o in outputs[0]] == [(63, 36, 64), (63, 18, 32), (63, 9, 16)]


def test_cli_bench_prints_the_summary_and_writes_the_results(reference_dir, tmp_path, capsys):
    from fasutils.cli import main

    code = main(["bench", "--models", "yunet 640 opencv", "--threads", "1", "--batches", "1", "--rounds", "1",
                 "--per-round", "2", "--no-memory", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0 and "YuNet 640 OpenCV" in printed and "p50 ms 1T" in printed
    assert {"models.csv", "latency.csv", "samples.csv", "benchmark.json"} <= {p.name for p in tmp_path.iterdir()}

import warnings

import numpy as np
import pytest

from fasutils.conventions import HAIRYMAX_BINARY, MINIVISION_V2, InputConvention
from fasutils.crops import MINIVISION_2_7
from fasutils.minifasnet import minifasnet
from fasutils.onnx_export import OnnxModelError, export_onnx, onnx_parity, read_convention

OURS = InputConvention("suite MiniFASNetV2SE 80 (test)", MINIVISION_2_7, "rgb", 1 / 255, ("live", "spoof"), 0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    net = minifasnet("V2SE", (80, 80), 2).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export_onnx(net, tmp_path_factory.mktemp("onnx") / "model.onnx", OURS)
    return net, path


def test_export_has_a_dynamic_batch_and_matches_pytorch(exported):
    net, path = exported
    rng = np.random.default_rng(0)
    for batch in (1, 5):
        assert onnx_parity(net, path, rng.random((batch, 3, 80, 80), dtype=np.float32)) <= 1e-4


def test_the_fourier_branch_is_not_exported(exported):
    import onnx

    graph = onnx.load(str(exported[1]))
    assert [o.name for o in graph.graph.output] == ["logits"] and [i.name for i in graph.graph.input] == ["input"]
    assert graph.opset_import[0].version >= 17


def test_the_convention_round_trips_through_the_metadata(exported):
    assert read_convention(exported[1]) == OURS


def test_a_convention_that_contradicts_the_model_is_refused(tmp_path):
    with pytest.raises(OnnxModelError, match="3 classes"):
        export_onnx(minifasnet("V2", (80, 80), 2), tmp_path / "bad.onnx", MINIVISION_V2)
    assert not (tmp_path / "bad.onnx").exists()


def test_non_onnx_and_foreign_files_are_named(tmp_path):
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"definitely not protobuf")
    with pytest.raises(OnnxModelError, match="is not an ONNX model"):
        read_convention(bogus)


@pytest.mark.reference
def test_published_onnx_files_carry_no_convention(reference_dir):
    from fasutils import assets

    with pytest.raises(OnnxModelError, match="carries no FAS Lab input convention"):
        read_convention(assets.path("hairymax/bin-1.5-128.onnx"))
    assert HAIRYMAX_BINARY.color_order == "rgb"  # its convention lives in fasutils.conventions instead


@pytest.mark.reference
def test_published_weights_export_through_our_code(reference_dir, tmp_path):
    from fasutils import published_models as pm

    net = pm.load("hairymax bin 1.5").model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export_onnx(net, tmp_path / "hairymax.onnx", HAIRYMAX_BINARY)
    inputs = np.random.default_rng(1).random((3, 3, 128, 128), dtype=np.float32)
    assert onnx_parity(net, path, inputs) <= 1e-4
    assert read_convention(path) == HAIRYMAX_BINARY

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from fasutils.core.errors import ExportError, UntrainedModelError
from fasutils.data.crops import MINIVISION_2_7
from fasutils.data.input_convention import (
    HAIRYMAX_BINARY,
    MINIVISION_V2,
    InputConvention,
)
from fasutils.export.onnx_export import (
    export_onnx,
    onnx_parity,
    read_convention,
    with_fast_prelu,
)
from fasutils.models.architecture import minifasnet

OURS = InputConvention("suite MiniFASNetV2SE 80 (test)", MINIVISION_2_7, "rgb", 1 / 255, ("live", "spoof"), 0)


def trained_like(variant: str = "V2SE", size: int = 80, classes: int = 2) -> nn.Module:
    """A random MiniFASNet whose BatchNorm statistics have seen (random) data, with non-trivial PReLU slopes."""
    torch.manual_seed(0)
    net = minifasnet(variant, (size, size), classes).train()
    with torch.no_grad():
        net(torch.rand(8, 3, size, size))
        for module in net.modules():
            if isinstance(module, nn.PReLU):
                module.weight.uniform_(-0.5, 0.8)
    return net.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    net = trained_like()
    return net, export_onnx(net, tmp_path_factory.mktemp("onnx") / "model.onnx", OURS)


def test_export_has_a_dynamic_batch_and_matches_pytorch(exported):
    net, path = exported
    rng = np.random.default_rng(0)
    for batch in (1, 5):
        assert onnx_parity(net, path, rng.random((batch, 3, 80, 80), dtype=np.float32)) <= 1e-4


@pytest.mark.parametrize("variant, size", [("V1", 80), ("V2", 80), ("V1SE", 80), ("V2SE", 128)])
@pytest.mark.parametrize("prelu", ["fast", "onnx"])
def test_every_variant_size_and_prelu_form_exports_with_parity(variant, size, prelu, tmp_path):
    net = trained_like(variant, size)
    convention = dataclasses.replace(OURS, crop=dataclasses.replace(MINIVISION_2_7, size=(size, size)))
    path = export_onnx(net, tmp_path / "m.onnx", convention, prelu=prelu)
    inputs = np.random.default_rng(2).random((3, 3, size, size), dtype=np.float32)
    assert onnx_parity(net, path, inputs) <= 1e-4


def test_the_fast_prelu_form_computes_the_same_function():
    prelu = nn.PReLU(4)
    with torch.no_grad():
        prelu.weight.copy_(torch.tensor([0.25, -0.5, 1.0, 0.0]))
    model = nn.Sequential(prelu)
    fast = with_fast_prelu(model)
    x = torch.randn(2, 4, 5, 5)
    assert not any(isinstance(m, nn.PReLU) for m in fast.modules())
    torch.testing.assert_close(fast(x), prelu(x), atol=1e-6, rtol=0)
    assert model[0] is prelu  # the original model is left as it was


def test_an_untrained_model_is_refused_unless_allowed(tmp_path):
    with pytest.raises(UntrainedModelError, match="looks untrained"):
        export_onnx(minifasnet("V2SE", (80, 80), 2), tmp_path / "untrained.onnx", OURS)
    assert not (tmp_path / "untrained.onnx").exists()


def test_a_convention_of_another_input_size_is_refused(tmp_path):
    wrong = dataclasses.replace(OURS, crop=dataclasses.replace(MINIVISION_2_7, size=(128, 128)))
    with pytest.raises(ExportError, match="does not take .* input of 128x128"):
        export_onnx(trained_like(), tmp_path / "bad.onnx", wrong)


def test_a_stored_convention_that_contradicts_the_requested_one_is_named(exported):
    other = dataclasses.replace(OURS, color_order="bgr", scale=1.0)
    with pytest.raises(ExportError, match="color_order 'rgb' \\(expected 'bgr'\\); scale"):
        read_convention(exported[1], expected=other)
    assert read_convention(exported[1], expected=OURS) == OURS


def test_the_fourier_branch_is_not_exported(exported):
    import onnx

    graph = onnx.load(str(exported[1]))
    assert [o.name for o in graph.graph.output] == ["logits"] and [i.name for i in graph.graph.input] == ["input"]
    assert graph.opset_import[0].version >= 17


def test_the_convention_round_trips_through_the_metadata(exported):
    assert read_convention(exported[1]) == OURS


def test_a_convention_that_contradicts_the_model_is_refused(tmp_path):
    with pytest.raises(ExportError, match="3 classes"):
        export_onnx(trained_like("V2"), tmp_path / "bad.onnx", MINIVISION_V2)
    assert not (tmp_path / "bad.onnx").exists()


def test_non_onnx_and_foreign_files_are_named(tmp_path):
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"definitely not protobuf")
    with pytest.raises(ExportError, match="is not an ONNX model"):
        read_convention(bogus)
    with pytest.raises(ExportError, match="no such ONNX file"):
        read_convention(tmp_path / "missing.onnx")


@pytest.mark.reference
def test_published_onnx_files_carry_no_convention(reference_dir):
    from fasutils.core import assets

    with pytest.raises(ExportError, match="carries no FAS Lab input convention"):
        read_convention(assets.path("hairymax/bin-1.5-128.onnx"))
    assert HAIRYMAX_BINARY.color_order == "rgb"  # its convention lives in fasutils.data.input_convention instead


@pytest.mark.reference
def test_published_weights_export_through_our_code(reference_dir, tmp_path):
    from fasutils.models import published as pm

    net = pm.load("hairymax bin 1.5").model
    path = export_onnx(net, tmp_path / "hairymax.onnx", HAIRYMAX_BINARY)
    inputs = np.random.default_rng(1).random((3, 3, 128, 128), dtype=np.float32)
    assert onnx_parity(net, path, inputs) <= 1e-4
    assert read_convention(path) == HAIRYMAX_BINARY

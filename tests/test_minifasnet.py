import warnings

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from fasutils.core import errors
from fasutils.core.errors import FasError
from fasutils.models import architecture as mf
from fasutils.models import summaries

# minivision's keep_dict, as published (minivision-ai/Silent-Face-Anti-Spoofing, src/model_lib/MiniFASNet.py)
PUBLISHED_KEEP = {
    "1.8M": [32, 32, 103, 103, 64, 13, 13, 64, 26, 26, 64, 13, 13, 64, 52, 52, 64, 231, 231, 128, 154, 154, 128, 52,
             52, 128, 26, 26, 128, 52, 52, 128, 26, 26, 128, 26, 26, 128, 308, 308, 128, 26, 26, 128, 26, 26, 128,
             512, 512],
    "1.8M_": [32, 32, 103, 103, 64, 13, 13, 64, 13, 13, 64, 13, 13, 64, 13, 13, 64, 231, 231, 128, 231, 231, 128, 52,
              52, 128, 26, 26, 128, 77, 77, 128, 26, 26, 128, 26, 26, 128, 308, 308, 128, 26, 26, 128, 26, 26, 128,
              512, 512],
}


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BatchNorm statistics, so outputs are far from the near-zero ones of a fresh model."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))
            elif tensor.is_floating_point():
                tensor.copy_(0.3 * torch.randn(tensor.shape, generator=generator))
    return model


@pytest.mark.parametrize("variant, size, classes, params", [
    ("V1", (80, 80), 3, 414_354), ("V2", (80, 80), 3, 434_560), ("V1SE", (80, 80), 3, 433_586),
    ("V2SE", (80, 80), 3, 453_792), ("V2SE", (128, 128), 2, 473_632), ("V2SE", (128, 128), 3, 473_760),
])
def test_classifier_parameter_counts_are_the_published_ones(variant, size, classes, params):
    net = mf.minifasnet(variant, size, classes)
    assert summaries.count_parameters(net.model) == params
    assert summaries.count_parameters(net.FTGenerator) == 222_339
    assert summaries.count_parameters(net) == params + 222_339


@pytest.mark.parametrize("widths", ["1.8M", "1.8M_"])
def test_the_expansion_table_rebuilds_the_published_keep_lists(widths):
    assert mf.keep_list(widths) == PUBLISHED_KEEP[widths]


# MACs measured on the upstream networks, recorded to 0.1 M, so the tolerance is +-0.05 M: that rounding.
@pytest.mark.parametrize("variant, size, macs_millions", [
    ("V1", (80, 80), 40.9), ("V2", (80, 80), 40.7), ("V1SE", (80, 80), 40.9), ("V2SE", (80, 80), 40.7),
    ("V1", (128, 128), 104.5), ("V2", (128, 128), 104.1), ("V2SE", (128, 128), 104.2),
])
def test_macs_match_the_measured_ones(variant, size, macs_millions):
    assert summaries.count_macs(mf.minifasnet(variant, size), size) / 1e6 == pytest.approx(macs_millions, abs=0.05)


def test_count_macs_does_not_change_the_training_mode():
    net = mf.minifasnet("V2", (80, 80)).train()
    summaries.count_macs(net, (80, 80))
    assert net.training


def test_count_macs_refuses_a_size_the_model_was_not_built_for():
    with pytest.raises(errors.ModelError, match="built for 80x80"):
        summaries.count_macs(mf.minifasnet("V2", (80, 80)), (128, 128))


@pytest.mark.parametrize("size, fourier_hw", [((80, 80), (10, 10)), ((128, 128), (16, 16)), ((80, 60), (10, 8))])
@pytest.mark.parametrize("classes", [2, 3, 4])
def test_train_mode_returns_logits_and_fourier_map_eval_mode_logits(size, fourier_hw, classes):
    net = mf.minifasnet("V2SE", size, classes)
    x = torch.rand(3, 3, *size)  # (B, 3, H, W)
    logits, fourier_map = net.train()(x)
    assert logits.shape == (3, classes) and fourier_map.shape == (3, 1, *fourier_hw)
    assert (fourier_map >= 0).all()  # ends in ReLU
    with torch.no_grad():
        assert net.eval()(x).shape == (3, classes)


def test_without_the_fourier_branch_training_returns_logits_only():
    net = mf.minifasnet("V1", (80, 80), 3, with_fourier=False).train()
    assert net.FTGenerator is None
    assert net(torch.rand(2, 3, 80, 80)).shape == (2, 3)
    assert not any(key.startswith("FTGenerator") for key in net.state_dict())


@pytest.mark.parametrize("size, kernel", [((80, 80), (5, 5)), ((128, 128), (8, 8)), ((80, 60), (5, 4)),
                                          ((65, 81), (5, 6))])
def test_conv6_kernel_rule_and_the_map_it_reduces_to_one_pixel(size, kernel):
    assert mf.conv6_kernel(size) == kernel
    net = mf.minifasnet("V1", size).eval()
    assert net.model.conv_6_dw.conv.kernel_size == kernel
    with torch.no_grad():
        assert net.model.forward_features(torch.rand(1, 3, *size)).shape == (1, 512)


def test_features_and_head_split_the_forward_pass():
    net = randomise(mf.minifasnet("V2SE", (80, 80), 3)).eval()
    x = torch.rand(2, 3, 80, 80)
    with torch.no_grad():
        features = net.forward_features(x)
        assert features.shape == (2, 512)
        assert net.forward_head(features, pre_logits=True).shape == (2, 128)
        torch.testing.assert_close(net.forward_head(features), net(x), rtol=0, atol=0)
        torch.testing.assert_close(net.model(x), net(x), rtol=0, atol=0)


def test_se_multiplies_its_input_by_a_per_channel_gate_in_zero_one():
    se = randomise(mf.SEModule(64), seed=1).eval()
    x = torch.randn(2, 64, 5, 7)  # (B, C, H, W)
    with torch.no_grad():
        y, gate = se(x), se.gate(x)
    assert gate.shape == (2, 64, 1, 1) and ((gate > 0) & (gate < 1)).all()
    torch.testing.assert_close(y, x * gate)
    ratio = y / x  # the same for every pixel of a channel
    torch.testing.assert_close(ratio, ratio[..., :1, :1].expand_as(ratio), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant, with_se", [("V1", False), ("V2", False), ("V1SE", True), ("V2SE", True)])
def test_se_sits_on_the_last_block_of_each_residual_stage_only(variant, with_se):
    keys = mf.minifasnet(variant).model.state_dict()
    se_blocks = sorted({key.split(".se_module.")[0] for key in keys if ".se_module." in key})
    assert se_blocks == (["conv_3.model.3", "conv_4.model.5", "conv_5.model.1"] if with_se else [])
    if with_se:  # reduction 4: 64 -> 16 -> 64 and 128 -> 32 -> 128
        assert keys["conv_3.model.3.se_module.fc1.weight"].shape == (16, 64, 1, 1)
        assert keys["conv_4.model.5.se_module.fc2.weight"].shape == (128, 32, 1, 1)


def test_residual_blocks_add_their_input():
    block = randomise(mf.DepthWise(16, 8, 16, residual=True)).eval()
    x = torch.randn(1, 16, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(block(x) - x, block.project(block.conv_dw(block.conv(x))))
    with pytest.raises(FasError, match="stride 1"):
        mf.DepthWise(16, 8, 16, stride=2, residual=True)


def test_published_initialisation():
    torch.manual_seed(0)
    net = mf.minifasnet("V2SE", (80, 80), 3)
    assert net.model.linear.weight.std().item() == pytest.approx(0.001, rel=0.05)
    assert torch.equal(net.model.bn.weight, torch.ones(128)) and torch.equal(net.model.bn.bias, torch.zeros(128))
    conv = net.model.conv_6_sep.conv  # kaiming fan_out: std = sqrt(2 / (out_channels * k * k))
    assert conv.weight.std().item() == pytest.approx((2 / 512) ** 0.5, rel=0.05)
    assert torch.equal(net.FTGenerator.ft[0].bias, torch.zeros(128))


def test_config_defaults_and_validation():
    assert mf.MiniFASNetConfig("V1").drop_p == 0.2 and mf.MiniFASNetConfig("V2SE").drop_p == 0.75
    assert mf.MiniFASNetConfig("V2", dropout=0.1).drop_p == 0.1
    assert mf.minifasnet("V2SE", [128, 128]).config.input_size == (128, 128)
    for bad in ({"variant": "V3"}, {"input_size": (80,)}, {"input_size": (80, 0)}, {"num_classes": 0},
                {"dropout": 1.0}, {"embedding_size": True}):
        with pytest.raises(errors.ModelError):
            mf.MiniFASNetConfig(**bad)


def test_layer_table_adds_up_to_the_totals():
    net = mf.minifasnet("V2SE", (128, 128), 2)
    rows = summaries.layer_table(net, (128, 128))
    names = [row.name for row in rows]
    assert names[:3] == ["conv1", "conv2_dw", "conv_23"] and names[-2:] == ["prob", "FTGenerator"]
    by_name = {row.name: row for row in rows}
    assert by_name["conv_4"].output_shape == (128, 16, 16) and by_name["conv_6_dw"].output_shape == (512, 1, 1)
    assert by_name["FTGenerator"].output_shape == (1, 16, 16) and by_name["FTGenerator"].params == 222_339
    classifier = rows[:-1]
    assert sum(row.params for row in classifier) == 473_632
    assert sum(row.macs for row in classifier) == summaries.count_macs(net, (128, 128))
    assert [row.name for row in summaries.layer_table(net.model, (128, 128))] == names[:-1]


def test_onnx_export_with_a_dynamic_batch(tmp_path):
    net = randomise(mf.minifasnet("V2SE", (80, 80), 3)).eval()
    file = tmp_path / "minifasnet.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.rand(2, 3, 80, 80),), file, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = torch.rand(batch, 3, 80, 80)
        with torch.no_grad():
            expected = net(x).numpy()
        np.testing.assert_allclose(session.run(None, {"input": x.numpy()})[0], expected, rtol=1e-4, atol=1e-4)


def test_se_gates_reports_each_se_module_and_leaves_no_hooks():
    net = mf.minifasnet("V2SE", (80, 80), 3).eval()
    gates = summaries.se_gates(net, torch.rand(2, 3, 80, 80))
    assert {name.split(".")[1] for name in gates} == {"conv_3", "conv_4", "conv_5"}
    assert [tuple(g.shape) for g in gates.values()] == [(2, 64), (2, 128), (2, 128)]
    assert all(((g > 0) & (g < 1)).all() for g in gates.values())
    assert not any(m._forward_hooks for m in net.modules())


def test_se_gates_leave_a_training_model_as_it_was_and_read_the_eval_gates():
    net = randomise(mf.minifasnet("V2SE", (80, 80), 3)).train()
    before = {key: value.clone() for key, value in net.state_dict().items()}
    x = torch.rand(4, 3, 80, 80)
    gates = summaries.se_gates(net, x)
    assert net.training and all(m.training for m in net.modules())
    after = net.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)  # BatchNorm running statistics included
    se_inputs = {}
    hooks = [m.register_forward_hook(lambda m, args, out, name=name: se_inputs.__setitem__(name, args[0]))
             for name, m in net.named_modules() if isinstance(m, mf.SEModule)]
    net.eval()
    with torch.no_grad():
        net(x)
        for name, gate in gates.items():
            torch.testing.assert_close(gate, net.get_submodule(name).gate(se_inputs[name]).flatten(1),
                                       rtol=0, atol=0)
    for hook in hooks:
        hook.remove()


def test_bad_input_tensors_are_refused_by_name():
    net = mf.minifasnet("V2", (80, 80), 3).eval()
    for bad, expected in ((torch.rand(1, 1, 80, 80), "shape (1, 1, 80, 80)"),
                          (torch.zeros(1, 3, 80, 80, dtype=torch.uint8), "torch.uint8"),
                          (torch.rand(3, 80, 80), "shape (3, 80, 80)"),
                          (torch.rand(1, 3, 128, 128), "size (128, 128) does not fit")):
        with pytest.raises(errors.ModelError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            net(bad)
    assert net(torch.rand(2, 3, 80, 76)).shape == (2, 3)  # same final kernel: accepted

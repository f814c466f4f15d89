import zipfile

import numpy as np
import onnxruntime as ort
import pytest
import torch
from test_minifasnet import randomise

from fasutils.core import assets
from fasutils.core.errors import FasError
from fasutils.models import weights as w
from fasutils.models.architecture import minifasnet


def published(state: dict, family: str) -> dict:
    """Our state dict re-keyed (and wrapped) the way each project ships it (see fasutils.models.weights)."""
    if family == "minivision":  # the bare classifier, DataParallel prefix, no Fourier branch
        return {"module." + key.removeprefix("model."): value for key, value in state.items()
                if key.startswith("model.")}
    if family == "hairymax":  # the whole DataParallel MultiFTNet
        return {"module." + key: value for key, value in state.items()}
    if family == "johnraivenolazo":  # renamed modules inside a training checkpoint
        renamed = dict(state)
        for ours, theirs in (("model.prob.", "model.logits."), ("FTGenerator.ft.", "FTGenerator.fourier_transform.")):
            renamed = {key.replace(ours, theirs): value for key, value in renamed.items()}
        return {"model_state_dict": renamed, "validation_accuracy": 0.9, "config": {"ft_weight": 0.0}}
    return dict(state)


def save(obj, file, legacy=False):
    torch.save(obj, file, _use_new_zipfile_serialization=not legacy)
    return file


CASES = [  # family, variant, input size, classes, legacy (pre-1.6) file format
    ("minivision", "V2", (80, 80), 3, True),
    ("minivision", "V1SE", (80, 80), 3, True),
    ("minivision", "V1", (80, 80), 4, False),
    ("hairymax", "V2SE", (128, 128), 2, False),
    ("hairymax", "V2", (128, 128), 3, False),
    ("johnraivenolazo", "V2SE", (128, 128), 2, False),
    ("fasutils", "V1SE", (80, 80), 2, False),
]


@pytest.mark.parametrize("family, variant, size, classes, legacy", CASES)
def test_round_trip_through_each_published_layout(tmp_path, family, variant, size, classes, legacy):
    fourier = family != "minivision"
    ours = randomise(minifasnet(variant, size, classes, with_fourier=fourier)).eval()
    file = save(published(ours.state_dict(), family), tmp_path / "weights.pth", legacy)
    assert zipfile.is_zipfile(file) is not legacy
    loaded = w.load_minifasnet(file)
    assert (loaded.family, loaded.variant, loaded.input_size, loaded.num_classes, loaded.has_fourier) == (
        family, variant, size, classes, fourier)
    assert loaded.source == file and not loaded.model.training
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(loaded.model(x), ours(x))
        if fourier:
            trunk = ours.model.forward_trunk(x)
            assert torch.equal(loaded.model.FTGenerator(trunk), ours.FTGenerator(trunk))


def test_the_kernel_fixes_the_size_up_to_the_rule(tmp_path):
    ours = randomise(minifasnet("V1", (80, 60), 4)).eval()
    file = save(published(ours.state_dict(), "hairymax"), tmp_path / "w.pth")
    assert w.load_minifasnet(file).input_size == (80, 64)  # kernel (5, 4): reported as 16 x kernel
    loaded = w.load_minifasnet(file, input_size=(80, 60), num_classes=4, variant="V1")
    assert loaded.input_size == (80, 60)
    x = torch.rand(1, 3, 80, 60)
    with torch.no_grad():
        assert torch.equal(loaded.model(x), ours(x))
    with pytest.raises(FasError, match=r"needs \(6, 4\)"):
        w.load_minifasnet(file, input_size=(96, 60))


@pytest.fixture
def v2se_file(tmp_path):
    """A hairymax-layout V2SE 128x128 2-class file, and its published state dict for editing."""
    state = published(minifasnet("V2SE", (128, 128), 2).state_dict(), "hairymax")
    return save(state, tmp_path / "v2se.pth"), state


def rejected(file, match, **request) -> str:
    with pytest.raises(FasError, match=match) as error:
        w.load_minifasnet(file, **request)
    assert str(file) in str(error.value)
    return str(error.value)


def test_wrong_class_count_or_variant_requested(v2se_file):
    file, _ = v2se_file
    rejected(file, "has 2 classes", num_classes=3)
    rejected(file, "holds MiniFASNetV2SE, not the V1", variant="V1")


def test_missing_unexpected_and_misshapen_keys_are_listed(v2se_file, tmp_path):
    file, state = v2se_file
    edited = {k: v for k, v in state.items() if not k.startswith("module.model.conv_4.model.2.project.bn.")}
    message = rejected(save(edited, tmp_path / "missing.pth"), "missing keys 5 ")
    assert "model.conv_4.model.2.project.bn.weight" in message and "unexpected keys 0" in message
    edited = {**state, "module.model.extra.weight": torch.zeros(2), "module.FTGenerator.ft.9.weight": torch.zeros(1)}
    message = rejected(save(edited, tmp_path / "unexpected.pth"), "unexpected keys 2 ")
    assert "model.extra.weight" in message and "missing keys 0" in message
    edited = {**state, "module.model.conv1.prelu.weight": torch.zeros(16)}
    rejected(save(edited, tmp_path / "shape.pth"), r"wrong shape.*conv1\.prelu\.weight \(16,\) \(ours \(32,\)\)")


def test_another_architecture_is_refused(v2se_file, tmp_path):
    resnet = {"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(1000, 512)}
    rejected(save(resnet, tmp_path / "resnet.pth"), "no.* known layout")
    parallel = {"module." + key: value for key, value in resnet.items()}
    rejected(save(parallel, tmp_path / "parallel.pth"), "not a MiniFASNet checkpoint: it lacks")
    _, state = v2se_file
    shorter = {k: v for k, v in state.items() if not k.startswith("module.model.conv_4.model.5.")}
    rejected(save(shorter, tmp_path / "shorter.pth"), "match no MiniFASNet variant")


class Note:
    """Any class: weights_only=True refuses to unpickle it."""


def test_files_that_are_not_plain_state_dicts(tmp_path):
    rejected(save({"conv.weight": torch.zeros(1), "note": Note()}, tmp_path / "object.pth"), "other than tensors")
    rejected(save({"conv.weight": torch.zeros(1), "note": "text"}, tmp_path / "text.pth"), "'note' holds a str")
    rejected(save([torch.zeros(1)], tmp_path / "list.pth"), "is a list, not a state dict")
    rejected(save({}, tmp_path / "empty_dict.pth"), "empty dict")
    rejected(save({"model_state_dict": {}}, tmp_path / "empty_container.pth"), "'model_state_dict' is an empty dict")


@pytest.mark.parametrize("legacy", [False, True])
def test_truncated_empty_and_absent_files(v2se_file, tmp_path, legacy):
    _, state = v2se_file
    data = save(state, tmp_path / "whole.pth", legacy).read_bytes()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    rejected(tmp_path / "truncated.pth", "not a readable torch file")
    (tmp_path / "empty.pth").write_bytes(b"")
    rejected(tmp_path / "empty.pth", "is empty")
    rejected(tmp_path / "absent.pth", "not found")


def test_renaming_rules():
    state = {"module.model.conv1.conv.weight": torch.zeros(1), "module.FTGenerator.ft.0.bias": torch.zeros(1)}
    assert list(w.to_our_keys(state, "hairymax")) == ["model.conv1.conv.weight", "FTGenerator.ft.0.bias"]
    assert list(w.to_our_keys({"module.prob.weight": torch.zeros(1)}, "minivision")) == ["model.prob.weight"]
    jr = {"model.logits.weight": torch.zeros(1), "FTGenerator.fourier_transform.7.bias": torch.zeros(1)}
    assert list(w.to_our_keys(jr, "johnraivenolazo")) == ["model.prob.weight", "FTGenerator.ft.7.bias"]
    with pytest.raises(FasError, match="unknown weights family"):
        w.to_our_keys(state, "timm")


REFERENCE = [  # asset, family, variant, input size, classes, Fourier branch
    ("minivision/minifasnetv2-2.7-80x80", "minivision", "V2", (80, 80), 3, False),
    ("minivision/minifasnetv1se-4.0-80x80", "minivision", "V1SE", (80, 80), 3, False),
    ("hairymax/bin-1.5-128.pth", "hairymax", "V2SE", (128, 128), 2, True),
    ("hairymax/bin-128.pth", "hairymax", "V2SE", (128, 128), 2, True),
    ("hairymax/print-replay-1.5-128.pth", "hairymax", "V2SE", (128, 128), 3, True),
    ("hairymax/print-replay-128.pth", "hairymax", "V2SE", (128, 128), 3, True),
    ("johnraivenolazo/best-98.20.pth", "johnraivenolazo", "V2SE", (128, 128), 2, True),
]


@pytest.mark.reference
@pytest.mark.parametrize("name, family, variant, size, classes, fourier", REFERENCE)
def test_every_published_checkpoint_loads_strictly(reference_dir, name, family, variant, size, classes, fourier):
    loaded = w.load_minifasnet(assets.path(name))
    assert (loaded.family, loaded.variant, loaded.input_size, loaded.num_classes, loaded.has_fourier) == (
        family, variant, size, classes, fourier)
    if family == "minivision":  # legacy (pre-1.6) files, read with weights_only=True all the same
        assert not zipfile.is_zipfile(loaded.source)


@pytest.mark.reference
@pytest.mark.parametrize("pth, onnx, batch", [("hairymax/bin-1.5-128.pth", "hairymax/bin-1.5-128.onnx", 1),
                                              ("johnraivenolazo/best-98.20.pth", "johnraivenolazo/best-98.20.onnx", 4)])
def test_published_weights_match_their_shipped_onnx(reference_dir, pth, onnx, batch):
    model = w.load_minifasnet(assets.path(pth)).model
    session = ort.InferenceSession(str(assets.path(onnx)), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(0)
    for _ in range(4):
        x = torch.rand(batch, 3, 128, 128, generator=generator)  # RGB / 255, as both projects feed it
        with torch.no_grad():
            ours = model(x).numpy()
        theirs = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        assert np.abs(ours - theirs).max() <= 1e-4

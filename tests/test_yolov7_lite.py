import numpy as np
import pytest
import torch
from conftest import from_reference

from fasutils.core import assets
from fasutils.core.errors import DetectionError
from fasutils.core.images import read_image
from fasutils.detection.boxes import match_faces
from fasutils.detection.detectors import YoloV7Lite
from fasutils.detection.yolov7 import OUTPUT_NAMES, export_detector_onnx, load_ncnn, published_files, yolov7_lite
from fasutils.detection.yolov7_config import CONFIGS
from fasutils.export.sessions import session

# Parity with ncnn (raw maps and faces) is tested end to end in test_face_boxes.py.
ONNX_TOLERANCE = 1e-4  # measured 3.3e-5 at 640x640


def test_parameter_counts_match_the_published_configs():
    # derronqi/yolov7-face cfg/yolov7-lite-{t,s}.yaml built upstream, and the published lite-e ncnn file
    # (BN weight and bias counted, implicit A/M too)
    counts = {name: sum(p.numel() for p in yolov7_lite(name).parameters()) for name in CONFIGS}
    assert counts == {"lite-t": 252_235, "lite-s": 1_074_547, "lite-e-0.5": 205_275}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_raw_maps_have_63_channels_per_stride_at_any_multiple_of_32(name):
    with torch.no_grad():
        outputs = yolov7_lite(name).eval()(torch.rand(2, 3, 96, 160))
    assert [tuple(o.shape) for o in outputs] == [(2, 63, 12, 20), (2, 63, 6, 10), (2, 63, 3, 5)]


def test_folding_batchnorm_keeps_the_outputs():
    model = yolov7_lite("lite-t").eval()
    generator = torch.Generator().manual_seed(0)
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):  # non-trivial statistics
        channels = bn.num_features
        bn.weight.data = torch.rand(channels, generator=generator) + 0.5
        bn.bias.data = torch.randn(channels, generator=generator) * 0.2
        bn.running_mean.data = torch.randn(channels, generator=generator) * 0.2
        bn.running_var.data = torch.rand(channels, generator=generator) + 0.5
    x = torch.rand(1, 3, 64, 96, generator=generator)
    with torch.no_grad():
        before = model(x)
        after = model.fuse()(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    for b, a in zip(before, after, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.fixture(scope="module")
def shipped():
    return from_reference(published_files)


@pytest.fixture(scope="module")
def model(shipped):
    return load_ncnn(*shipped)


@pytest.mark.reference
def test_files_of_another_model_are_refused_naming_the_layer(shipped, tmp_path):
    with pytest.raises(DetectionError, match=r"ncnn layer Conv_3 \(ConvolutionDepthWise.*does not fit lite-t stem"):
        load_ncnn(*shipped, config="lite-t")
    short = tmp_path / "lite-e.bin"
    short.write_bytes(shipped[1].read_bytes()[:-100])
    with pytest.raises(DetectionError, match="lite-e.bin ends inside the bias of layer Conv_381"):
        load_ncnn(shipped[0], short)


@pytest.fixture(scope="module")
def onnx_file(model, tmp_path_factory):
    return export_detector_onnx(model, tmp_path_factory.mktemp("onnx") / "yolov7-lite-e.onnx")


@pytest.fixture(scope="module")
def onnx_session(onnx_file):
    return session(onnx_file, threads=1)


@pytest.mark.reference
def test_onnx_export_has_free_batch_and_size_and_matches_pytorch(model, onnx_session):
    (images,) = onnx_session.get_inputs()
    assert images.name == "images" and isinstance(images.shape[0], str) and images.shape[1] == 3
    assert all(isinstance(n, str) for n in images.shape[2:])  # not baked to 288x512
    assert [o.name for o in onnx_session.get_outputs()] == list(OUTPUT_NAMES)
    generator = torch.Generator().manual_seed(2)
    for shape in ((1, 3, 640, 640), (2, 3, 288, 512)):
        x = torch.rand(shape, generator=generator)
        with torch.no_grad():
            expected = [o.numpy() for o in model(x)]
        for mine, theirs in zip(onnx_session.run(None, {"images": x.numpy()}), expected, strict=True):
            assert mine.shape == theirs.shape
            np.testing.assert_allclose(mine, theirs, rtol=0, atol=ONNX_TOLERANCE)


@pytest.mark.reference
def test_the_onnx_backend_finds_the_faces_pytorch_finds_and_checks_the_same(model, onnx_file):
    photo = read_image(assets.path("yolov7face/group-test.jpg"))
    on_torch, on_onnx = YoloV7Lite(model, (640, 640)), YoloV7Lite(onnx_file, (640, 640), threads=1)
    assert (on_torch.backend, on_onnx.backend) == ("torch", "onnxruntime")
    theirs, ours = on_torch.detect(photo), on_onnx.detect(photo)
    assert len(ours) == len(theirs) == len(match_faces(ours, theirs, 0.999)) >= 6
    cut = sorted(min(f.box[2:]) for f in theirs)[len(theirs) // 2]  # the median face: about half stay
    large = YoloV7Lite(onnx_file, (640, 640), min_face=cut, threads=1).detect(photo)
    assert 0 < len(large) < len(ours) and all(min(f.box[2:]) >= cut for f in large)
    with pytest.raises(DetectionError, match="multiples of 32"):
        YoloV7Lite(onnx_file, (300, 500))
    with pytest.raises(DetectionError, match="RGB uint8"):
        on_onnx.detect(photo[..., 0])

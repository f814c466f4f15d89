from collections import Counter

import numpy as np
import pytest

from fasutils.core.errors import DetectionError
from fasutils.detection.yolov7 import published_files
from fasutils.export.ncnn_format import FP16_TAG, read_ncnn, read_param

PARAM = """7767517
4 4
Input            data   0 1 data
Convolution      conv   1 1 data out 0=2 1=1 5=1 6=6 9=1
Crop             crop   1 1 out cropped -23309=1,0 -23310=1,1 -23311=1,0
MemoryData       const  0 1 const 0=3 1=2 2=1 8=2.500000e-01
"""
KERNEL = np.array([0.5, -1.25, 2.0, 0.099975586, 3.0, -0.5], np.float32)  # exact in fp16
BIAS = np.array([0.1, -0.2], np.float32)
CONST = np.arange(6, dtype=np.float32)


def write_pair(folder, flag=FP16_TAG, kernel_dtype="<f2", cut=0, extra=b""):
    """A tiny param/bin pair: a 1x1 conv 3 -> 2 (flagged kernel + fp32 bias) and a (1, 2, 3) MemoryData."""
    data = (flag.to_bytes(4, "little") + KERNEL.astype(kernel_dtype).tobytes() + BIAS.astype("<f4").tobytes()
            + CONST.astype("<f4").tobytes() + extra)
    (folder / "tiny.param").write_text(PARAM)
    (folder / "tiny.bin").write_bytes(data[:len(data) - cut])
    return folder / "tiny.param", folder / "tiny.bin"


def test_param_text_gives_wiring_ints_floats_and_arrays(tmp_path):
    net = read_param(write_pair(tmp_path)[0])
    assert [layer.type for layer in net.layers] == ["Input", "Convolution", "Crop", "MemoryData"]
    assert net.blob_count == 4
    conv, crop, const = net.layer("conv"), net.layer("crop"), net.layer("const")
    assert conv.inputs == ["data"] and conv.outputs == ["out"]
    assert conv.params == {0: 2, 1: 1, 5: 1, 6: 6, 9: 1}
    assert crop.params == {9: (0,), 10: (1,), 11: (0,)}  # key -23300 - k holds array parameter k
    assert const.params[8] == 0.25 and isinstance(const.params[8], float)


@pytest.mark.parametrize("flag, dtype", [(FP16_TAG, "<f2"), (0, "<f4")])
def test_weights_are_read_in_layer_order_with_the_storage_flag(tmp_path, flag, dtype):
    net = read_ncnn(*write_pair(tmp_path, flag, dtype))
    conv = net.layer("conv")
    assert list(conv.weights) == ["weight", "bias"]
    np.testing.assert_array_equal(conv.weights["weight"], KERNEL.reshape(2, 3, 1, 1))
    np.testing.assert_array_equal(conv.weights["bias"], BIAS)
    np.testing.assert_array_equal(net.layer("const").weights["data"], CONST.reshape(1, 2, 3))


@pytest.mark.parametrize("cut, extra, message", [
    (4, b"", r"ends inside the data of layer const"),
    (30, b"", r"ends inside the bias of layer conv"),
    (0, b"\0" * 8, r"8 bytes left after the weights of the last layer: it does not belong to tiny.param"),
])
def test_a_bin_that_does_not_fit_the_param_names_the_layer(tmp_path, cut, extra, message):
    with pytest.raises(DetectionError, match=message):
        read_ncnn(*write_pair(tmp_path, cut=cut, extra=extra))


def test_unsupported_storage_unknown_layers_and_non_param_files_are_refused(tmp_path):
    param, bin_file = write_pair(tmp_path, flag=0x000D4B38)  # int8
    with pytest.raises(DetectionError, match=r"weight of layer conv has storage flag 0x000d4b38"):
        read_ncnn(param, bin_file)
    param, bin_file = write_pair(tmp_path)
    param.write_text(PARAM.replace("Crop             crop", "Lstm             lstm"))
    with pytest.raises(DetectionError, match="layer lstm has type Lstm"):
        read_ncnn(param, bin_file)
    param.write_text("{}")
    with pytest.raises(DetectionError, match="tiny.param is not an ncnn .param"):  # the detectors' error type
        read_param(param)


@pytest.mark.reference
def test_the_shipped_lite_e_files(reference_dir):
    net = read_ncnn(*published_files())  # reading to the last byte checks every layer's weight count
    assert len(net.layers) == 161 and net.blob_count == 184
    counts = Counter(layer.type for layer in net.layers)
    assert counts["Convolution"] == 46 and counts["ConvolutionDepthWise"] == 23 and counts["MemoryData"] == 6
    assert net.layer("Conv_0").weights["weight"].shape == (16, 3, 3, 3)  # stem conv 3x3 s2, 16 channels
    assert net.layer("Conv_363").weights["weight"].shape == (45, 48, 1, 1)  # stride-8 keypoint conv
    assert net.layer("815").weights["data"].shape == (48, 36, 64)  # implicit add, broadcast to 512x288 / 8
    weights = sum(w.size for layer in net.layers if layer.type.startswith("Conv") for w in layer.weights.values())
    assert weights == 197_288 + 3_989  # fp16 kernels + fp32 biases (MemoryData apart)


@pytest.mark.reference
def test_a_truncated_shipped_bin_names_the_layer(reference_dir, tmp_path):
    param, bin_file = published_files()
    short = tmp_path / "lite-e.bin"
    short.write_bytes(bin_file.read_bytes()[:600_000])
    with pytest.raises(DetectionError, match=r"lite-e.bin ends inside the \w+ of layer \w+ \(\w+\)"):
        read_ncnn(param, short)

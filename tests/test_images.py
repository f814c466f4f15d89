import struct
import zlib

import cv2
import numpy as np
import pytest

from fasutils.core.images import (
    ALPHA_BACKGROUND,
    ImageReadError,
    check_image,
    read_image,
)


@pytest.fixture
def png(tmp_path):
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV's order
    path = tmp_path / "blue.png"
    cv2.imwrite(str(path), bgr)
    return path


def test_reads_rgb_by_default_and_bgr_on_request(png):
    assert read_image(png).shape == (4, 6, 3)
    assert read_image(png)[0, 0].tolist() == [0, 0, 200]
    assert read_image(png, order="bgr")[0, 0].tolist() == [200, 0, 0]


@pytest.mark.parametrize("content, problem", [(None, "not found"), (b"", "empty"),
                                              (b"\xff\xd8 not a jpeg", "cannot decode")])
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "face.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError, match=problem) as raised:
        read_image(path)
    assert str(path) in str(raised.value)


def test_unknown_channel_order_is_refused(png):
    with pytest.raises(ValueError, match="order"):
        read_image(png, order="hsv")


# --- files built byte by byte (palette and grey+alpha PNGs, which cv2.imwrite cannot write) and broken files ---


def _png_bytes(rows: list[bytes], width: int, height: int, color_type: int, bit_depth: int = 8,
               extra: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    """A minimal PNG: IHDR, optional chunks (PLTE, tRNS), one IDAT of unfiltered rows, IEND."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + b"".join(chunk(k, b) for k, b in extra)
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def _noise_bgr(height: int = 48, width: int = 64) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _written(tmp_path, name: str, image: np.ndarray) -> bytes:
    path = tmp_path / name
    assert cv2.imwrite(str(path), image)
    return path.read_bytes()


def _exif_jpeg(tmp_path, orientation: int) -> bytes:
    """A JPEG whose APP1 Exif segment carries ``orientation`` (big-endian TIFF, one IFD0 entry)."""
    jpeg = _written(tmp_path, "plain.jpg", _noise_bgr(20, 40))
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0" * 4
    body = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


@pytest.mark.parametrize("suffix, keep", [(".jpg", 0.6), (".jpg", -2), (".png", 0.6), (".png", -12), (".webp", 0.6)])
def test_truncated_files_are_refused_not_half_read(tmp_path, suffix, keep):
    data = _written(tmp_path, "whole" + suffix, _noise_bgr())
    cut = data[:int(len(data) * keep)] if keep > 0 else data[:keep]  # -2 drops only JPEG's FF D9, -12 PNG's IEND
    path = tmp_path / ("cut" + suffix)
    path.write_bytes(cut)
    with pytest.raises(ImageReadError, match="truncated") as raised:
        read_image(path)
    assert raised.value.problem == "truncated" and str(path) in str(raised.value)
    with pytest.raises(ImageReadError, match="truncated"):
        check_image(path)


def test_png_with_a_damaged_chunk_is_corrupt(tmp_path):
    data = bytearray(_written(tmp_path, "whole.png", _noise_bgr()))
    data[60] ^= 0xFF  # inside IDAT: the chunk's CRC no longer matches
    path = tmp_path / "damaged.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="CRC mismatch") as raised:
        read_image(path)
    assert raised.value.problem == "corrupt"


def test_bytes_after_the_jpeg_end_marker_are_tolerated(tmp_path):
    path = tmp_path / "trailer.jpg"
    path.write_bytes(_written(tmp_path, "whole.jpg", _noise_bgr()) + b"camera maker data")
    assert read_image(path).shape == (48, 64, 3)


def test_check_image_gives_the_size_read_image_delivers(tmp_path):
    for suffix in (".jpg", ".png", ".bmp"):
        _written(tmp_path, "i" + suffix, _noise_bgr(30, 50))
        assert check_image(tmp_path / ("i" + suffix)) == (50, 30)
        assert read_image(tmp_path / ("i" + suffix)).shape == (30, 50, 3)


def test_jpeg_exif_orientation_is_applied_and_sized_alike(tmp_path):
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_exif_jpeg(tmp_path, 6))  # 6: turn 90 degrees clockwise to display
    assert read_image(path).shape == (40, 20, 3)
    assert check_image(path) == (20, 40)
    path.write_bytes(_exif_jpeg(tmp_path, 1))
    assert read_image(path).shape == (20, 40, 3) and check_image(path) == (40, 20)


def test_rgba_is_composited_over_the_neutral_background(tmp_path):
    bgra = np.zeros((1, 3, 4), np.uint8)
    bgra[0, :, :3] = (0, 0, 255)  # red in BGR under every pixel
    bgra[0, :, 3] = (0, 255, 51)  # transparent, opaque, 20 % opaque
    path = tmp_path / "rgba.png"
    cv2.imwrite(str(path), bgra)
    rgb = read_image(path)
    assert ALPHA_BACKGROUND == (128, 128, 128)
    assert rgb[0, 0].tolist() == [128, 128, 128]  # not black, and not the hidden red
    assert rgb[0, 1].tolist() == [255, 0, 0]
    assert rgb[0, 2].tolist() == [round(0.2 * 255 + 0.8 * 128), round(0.8 * 128), round(0.8 * 128)]
    assert read_image(path, background=(255, 255, 255))[0, 0].tolist() == [255, 255, 255]
    assert read_image(path, order="bgr")[0, 1].tolist() == [0, 0, 255]


def test_palette_with_transparency_and_grey_alpha_pngs(tmp_path):
    palette = _png_bytes([bytes([0, 1])], 2, 1, color_type=3,
                         extra=((b"PLTE", bytes([255, 0, 0, 0, 255, 0])), (b"tRNS", bytes([255, 0]))))
    (tmp_path / "palette.png").write_bytes(palette)
    assert read_image(tmp_path / "palette.png").tolist() == [[[255, 0, 0], [128, 128, 128]]]
    grey_alpha = _png_bytes([bytes([50, 255, 200, 0])], 2, 1, color_type=4)
    (tmp_path / "grey_alpha.png").write_bytes(grey_alpha)
    assert read_image(tmp_path / "grey_alpha.png").tolist() == [[[50, 50, 50], [128, 128, 128]]]


def test_16_bit_is_scaled_by_255_over_65535_not_shifted(tmp_path):
    values = np.array([[0, 128, 129, 257, 32896, 65280, 65535]], np.uint16)
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), np.dstack([values] * 3))
    expected = [0, 0, 1, 1, 128, 254, 255]  # a plain >> 8 would give 65280 -> 255
    assert read_image(path)[0, :, 0].tolist() == expected
    bgra = np.dstack([values] * 3 + [np.full_like(values, 65535)])
    cv2.imwrite(str(path), bgra)  # 16-bit with alpha takes the compositing path
    assert read_image(path)[0, :, 1].tolist() == expected
    grey = _png_bytes([struct.pack(">HH", 65535, 257)], 2, 1, color_type=0, bit_depth=16)
    path.write_bytes(grey)
    assert read_image(path).tolist() == [[[255] * 3, [1] * 3]]


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_grayscale_becomes_three_equal_channels(tmp_path, suffix):
    grey = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (8, 1))
    path = tmp_path / ("grey" + suffix)
    cv2.imwrite(str(path), grey)
    rgb = read_image(path)
    assert rgb.shape == (8, 25, 3)
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    assert np.abs(rgb[..., 0].astype(int) - grey).max() <= (0 if suffix == ".png" else 4)


def test_floating_point_images_are_refused_by_name(tmp_path):
    path = tmp_path / "float.tiff"
    cv2.imwrite(str(path), np.full((4, 4, 3), 0.5, np.float32))
    with pytest.raises(ImageReadError, match="float32") as raised:
        read_image(path)
    assert raised.value.problem == "unsupported"

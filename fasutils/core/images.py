"""Image input that never returns ``None``, never silently drops data and never reads half a file.

OpenCV's ``imread`` returns ``None`` without a reason, drops the alpha channel (so a transparent pixel shows
whatever colour happens to lie under it), and some versions decode a JPEG that was cut short without
complaint, filling the missing rows with grey. :func:`read_image` instead:

- refuses missing, empty, corrupt and **truncated** files with :class:`ImageReadError` naming the file
  (JPEG: the end-of-image marker must be reached; PNG: every chunk complete with a good CRC, up to ``IEND``;
  WebP: the RIFF size must fit in the file);
- composites transparent images (RGBA, grey+alpha, palette with ``tRNS``) over :data:`ALPHA_BACKGROUND`, a
  neutral mid-grey, not black;
- scales 16-bit images to 8-bit exactly (``round(v * 255 / 65535)``, so 65535 becomes 255, not 65535 >> 8);
- turns grayscale into three equal channels;
- applies a JPEG's EXIF orientation (as the camera meant it). PNG, WebP and TIFF are read with their alpha
  channel, which in OpenCV means without EXIF orientation; such files rarely carry one.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

from fasutils.core.errors import ImageReadError

ALPHA_BACKGROUND = (128, 128, 128)  # RGB under transparent pixels: neutral mid-grey, far from black and white

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Inside entropy-coded data 0xFF is followed by 0x00 (stuffing), 0xD0-0xD7 (restart) or more 0xFF (fill);
# any other byte after 0xFF is the next marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _load_bytes(path: Path) -> np.ndarray:
    if not path.is_file():
        raise ImageReadError(path, "not found", "image not found")
    data = np.fromfile(path, dtype=np.uint8)  # imdecode, unlike imread, copes with any path encoding
    if data.size == 0:
        raise ImageReadError(path, "empty", "image file is empty (0 bytes)")
    return data


def _exif_orientation(segment: bytes) -> int:
    """The orientation tag (1-8) of an APP1 ``Exif`` segment body, 1 when absent or unreadable."""
    tiff = segment[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    try:
        if order is None:
            return 1
        (ifd,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, kind = struct.unpack_from(order + "HH", tiff, entry)
            if tag == 0x0112 and kind == 3:  # Orientation, SHORT
                value = struct.unpack_from(order + "H", tiff, entry + 8)[0]
                return value if 1 <= value <= 8 else 1
    except struct.error:
        pass
    return 1


def _jpeg_size(path: Path, data: bytes) -> tuple[int, int]:
    """Walk the JPEG segments to the end-of-image marker; (width, height) as displayed (EXIF applied)."""
    position, size, orientation = 2, None, 1
    while True:
        if position >= len(data):
            raise ImageReadError(path, "truncated", "truncated JPEG: the file ends before its end-of-image "
                                 "marker (FF D9), so it was cut short (interrupted download or copy?)")
        if data[position] != 0xFF:
            raise ImageReadError(path, "corrupt", f"cannot decode image: corrupt JPEG, no marker at byte {position}")
        while position < len(data) and data[position] == 0xFF:  # fill bytes may precede a marker
            position += 1
        if position >= len(data):
            continue  # reported as truncated at the top of the loop
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # stand-alone markers
            continue
        if position + 2 > len(data):
            position = len(data)
            continue
        (length,) = struct.unpack_from(">H", data, position)
        if length < 2:
            raise ImageReadError(path, "corrupt", f"cannot decode image: corrupt JPEG segment at byte {position}")
        segment = data[position + 2:position + length]
        position += length
        if position > len(data):
            continue
        if marker in _JPEG_SOF and len(segment) >= 5:
            height, width = struct.unpack_from(">HH", segment, 1)
            size = (width, height)
        elif marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            orientation = _exif_orientation(segment)
        elif marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            found = _JPEG_NEXT_MARKER.search(data, position)
            position = found.start() if found else len(data)
    if size is None or 0 in size:
        raise ImageReadError(path, "corrupt", "cannot decode image: JPEG without a frame header (SOF)")
    return (size[1], size[0]) if orientation >= 5 else size  # orientations 5-8 turn the image by 90 degrees


def _png_size(path: Path, data: bytes) -> tuple[int, int]:
    """Walk the PNG chunks, checking each CRC, to ``IEND``; (width, height) from ``IHDR``."""
    view, position, size = memoryview(data), len(_PNG_SIGNATURE), None
    while True:
        if position + 12 > len(data):
            raise ImageReadError(path, "truncated", "truncated PNG: the file ends before its IEND chunk, so it "
                                 "was cut short (interrupted download or copy?)")
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if end > len(data):
            raise ImageReadError(path, "truncated", f"truncated PNG: chunk {kind!r} runs past the end of the file")
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(view[position + 4:end - 4]) != crc:
            raise ImageReadError(path, "corrupt", f"cannot decode image: corrupt PNG, CRC mismatch in chunk {kind!r}")
        if kind == b"IHDR" and length >= 8:
            size = struct.unpack_from(">II", data, position + 8)
        position = end
        if kind == b"IEND":
            break
    if size is None:
        raise ImageReadError(path, "corrupt", "cannot decode image: PNG without an IHDR chunk")
    return size


def _check_structure(path: Path, data: bytes) -> tuple[int, int] | None:
    """(width, height) for JPEG and PNG after checking the file is complete; None for other formats."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(path, data)
    if data.startswith(_PNG_SIGNATURE):
        return _png_size(path, data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and 8 + struct.unpack_from("<I", data, 4)[0] > len(data):
        raise ImageReadError(path, "truncated", "truncated WebP: the file is shorter than its RIFF header states")
    return None


def _to_uint8(samples: np.ndarray) -> np.ndarray:
    if samples.dtype == np.uint8:
        return samples
    return ((samples.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)  # round(v * 255 / 65535)


def over_background(rgba: np.ndarray, background: tuple[int, int, int] = ALPHA_BACKGROUND) -> np.ndarray:
    """Colour + alpha (H, W, 4; 8- or 16-bit) blended over a solid ``background`` in the same channel order:
    uint8 (H, W, 3), as :func:`read_image` shows a transparent image."""
    full = float(np.iinfo(rgba.dtype).max)
    colour = rgba[..., :3].astype(np.float32) / full
    alpha = rgba[..., 3:].astype(np.float32) / full
    solid = np.array(background, np.float32) / 255.0
    return np.rint((colour * alpha + solid * (1.0 - alpha)) * 255.0).astype(np.uint8)


def _decode(path: Path, data: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """Decode to uint8 BGR (H, W, 3)."""
    is_jpeg = bytes(data[:2]) == b"\xff\xd8"
    # JPEG has no alpha: ANYCOLOR applies its EXIF orientation. Other formats: UNCHANGED keeps their alpha.
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if is_jpeg else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(data, flags)
    if image is None:
        raise ImageReadError(path, "corrupt", f"cannot decode image ({data.size} bytes): corrupt or not an image "
                             "format OpenCV reads (JPEG, PNG, BMP, TIFF, WebP)")
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(path, "unsupported", f"cannot read image with {image.dtype} samples (only 8- and "
                             "16-bit integer images are supported; convert floating-point images first)")
    if image.ndim == 2:
        image = image[..., None]
    channels = image.shape[2]
    if channels == 4:
        return over_background(image, background[::-1])  # BGRA: the background in BGR order
    image = _to_uint8(image)
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return image
    raise ImageReadError(path, "unsupported", f"cannot read image with {channels} channels")


def check_image(path: str | Path) -> tuple[int, int]:
    """Check that ``path`` is a complete image; return its ``(width, height)`` as :func:`read_image` delivers it.

    JPEG and PNG are checked by walking their structure (fast: no pixels are decoded); other formats are decoded.
    Raises :class:`ImageReadError` for missing, empty, truncated and corrupt files.
    """
    path = Path(path)
    data = _load_bytes(path)
    size = _check_structure(path, data.tobytes())
    if size is None:
        image = _decode(path, data, ALPHA_BACKGROUND)
        size = (image.shape[1], image.shape[0])
    return size


def read_image(path: str | Path, order: str = "rgb", *,
               background: tuple[int, int, int] = ALPHA_BACKGROUND) -> np.ndarray:
    """Read an image as uint8 ``(H, W, 3)`` in ``order`` ("rgb" or "bgr", OpenCV's native order).

    Transparent pixels are blended over ``background`` (RGB, default :data:`ALPHA_BACKGROUND`), 16-bit samples
    are scaled to 8 bits, grayscale is repeated into three channels. Raises :class:`ImageReadError` naming the
    file and the problem (missing, empty, truncated, corrupt, unsupported) instead of returning ``None``.
    """
    if order not in {"rgb", "bgr"}:
        raise ValueError(f"order must be 'rgb' or 'bgr', not {order!r}")
    path = Path(path)
    data = _load_bytes(path)
    _check_structure(path, data.tobytes())
    image = _decode(path, data, background)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if order == "rgb" else image

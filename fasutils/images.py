"""Image input with errors that name the file: OpenCV's ``imread`` returns ``None`` and says nothing.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fasutils.errors import FasError


class ImageReadError(FasError):
    """An image file is missing, empty, corrupt or in a format OpenCV cannot decode."""


def read_image(path: str | Path, order: str = "rgb") -> np.ndarray:
    """Read a colour image as uint8 ``(H, W, 3)`` in ``order`` ("rgb" or "bgr", OpenCV's native order).

    Raises :class:`ImageReadError` naming the file and the problem instead of returning ``None``.
    """
    if order not in {"rgb", "bgr"}:
        raise ValueError(f"order must be 'rgb' or 'bgr', not {order!r}")
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"image not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)  # imdecode, unlike imread, copes with any path encoding
    if data.size == 0:
        raise ImageReadError(f"image file is empty: {path}")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(f"cannot decode image {path} ({data.size} bytes): corrupt or not an image format "
                             "OpenCV reads (JPEG, PNG, BMP, TIFF, WebP)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if order == "rgb" else image

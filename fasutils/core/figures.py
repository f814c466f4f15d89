"""Figures shared by the notebooks (matplotlib). Each function returns its figure; notebooks call ``plt.show()``.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str], ncols: int = 4,
               cell_inches: float = 3.0) -> plt.Figure:
    """RGB (or grayscale) images in a grid with one title each; a fixed size keeps nbval's text stable."""
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    ncols = max(1, min(ncols, len(images)))
    nrows = max(1, math.ceil(len(images) / ncols))
    figure, axes = plt.subplots(nrows, ncols, figsize=(cell_inches * ncols, cell_inches * nrows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, title in zip(axes.flat, images, titles, strict=False):
        axis.imshow(image, cmap="gray" if image.ndim == 2 else None)
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure

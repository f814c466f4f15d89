"""One simulation parameter varied while everything else stays put: how the physics shows in the image.

With the same seed, every random draw of :func:`fasutils.simulation.attacks.simulate` is the same across a
sweep, so the images differ only by the swept parameter. Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from fasutils.core.errors import SimulationError
from fasutils.simulation.attacks import simulate
from fasutils.simulation.configs import CONFIG_TYPES, Simulated


def fixed(config, **values):
    """``config`` with each named range pinned to one value (``lpi=120`` sets ``lpi=(120, 120)``).

    Names of the nested scene configuration may be given too (``yaw_deg=0``).
    """
    own = {f.name for f in dataclasses.fields(config)}
    nested = {name: value for name, value in values.items() if name not in own}
    pinned = {name: (value, value) if isinstance(getattr(config, name), tuple) else value
              for name, value in values.items() if name in own}
    if nested:
        inner = "scene" if hasattr(config, "scene") else "print"
        if not hasattr(config, inner):
            raise SimulationError(f"{type(config).__name__} has no parameters {sorted(nested)}")
        pinned[inner] = fixed(getattr(config, inner), **nested)
    return dataclasses.replace(config, **pinned)


def sweep(kind: str, photo: np.ndarray, points: np.ndarray, background: np.ndarray, out_size: tuple[int, int],
          parameter: str, values: Sequence[float], seed: int = 0, **pinned: float) -> list[Simulated]:
    """Simulate ``kind`` once per value of ``parameter``, with other parameters ``pinned`` and the same seed."""
    base = fixed(CONFIG_TYPES[kind](), **pinned)
    return [simulate(kind, photo, points, background, out_size, np.random.default_rng(seed),
                     config=fixed(base, **{parameter: value})) for value in values]


def zoom(image: np.ndarray, centre: Sequence[float], size: int, factor: int = 4) -> np.ndarray:
    """A ``size`` x ``size`` patch around ``centre`` (x, y), enlarged ``factor`` times without smoothing."""
    x, y = (int(round(c - size / 2)) for c in centre)
    x = min(max(x, 0), image.shape[1] - size)
    y = min(max(y, 0), image.shape[0] - size)
    patch = image[y:y + size, x:x + size]
    return np.repeat(np.repeat(patch, factor, axis=0), factor, axis=1)

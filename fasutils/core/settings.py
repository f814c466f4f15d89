"""The run itself: QUICK mode, seeds, and a description of the machine and library versions.

Introduced in ``00_environment_and_data.ipynb``; every notebook's parameters cell calls :func:`quick_default`.
"""

from __future__ import annotations

import os
import platform
import random
from importlib import metadata

import numpy as np

ENV_QUICK = "FAS_QUICK"

# Distributions whose versions a result depends on, in the order a reader wants them.
KEY_DISTRIBUTIONS = ("torch", "numpy", "opencv-python-headless", "onnx", "onnxruntime", "scikit-learn",
                     "matplotlib", "pandas", "papermill", "nbval", "ipykernel")


def quick_default() -> bool:
    """QUICK mode's default: on when ``$FAS_QUICK`` is 1/true/yes (CI sets it), off otherwise."""
    return os.environ.get(ENV_QUICK, "").strip().lower() in {"1", "true", "yes", "on"}


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and (when imported) PyTorch; return a fresh NumPy generator for this seed."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # torch is a dependency, but seeding must not be what breaks without it
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_rows() -> list[tuple[str, str]]:
    """(item, value) pairs describing this machine and the library versions, for a report or a table."""
    import torch

    rows = [
        ("python", platform.python_version()),
        ("platform", platform.platform()),
        ("cpu", _cpu_model()),
        ("logical cores", str(os.cpu_count())),
        ("torch threads", str(torch.get_num_threads())),
        ("torch CUDA", str(torch.version.cuda)),
        ("QUICK mode", str(quick_default())),
    ]
    rows += [(name, _version(name)) for name in KEY_DISTRIBUTIONS]
    return rows

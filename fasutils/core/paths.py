"""Where things live: the project root, the public reference files, the data cache and build products.

Every location can be moved with an environment variable; a relative value is taken relative to the
project root, so notebooks (whose working directory is ``notebooks/``) and the shell agree.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fasutils.core.errors import AssetMissing

ENV_PROJECT_DIR = "FAS_PROJECT_DIR"
ENV_REFERENCE_DIR = "FAS_REFERENCE_DIR"
ENV_CACHE_DIR = "FAS_CACHE_DIR"
ENV_BUILD_DIR = "FAS_BUILD_DIR"

DEFAULT_REFERENCE_DIR = Path("..") / "shared" / "reference"


def project_root() -> Path:
    """The checkout holding ``pyproject.toml``: ``$FAS_PROJECT_DIR``, else the folder above this package."""
    if os.environ.get(ENV_PROJECT_DIR):
        return Path(os.environ[ENV_PROJECT_DIR]).expanduser().resolve()
    package_parent = Path(__file__).resolve().parents[2]  # fasutils/core/paths.py -> the checkout
    if (package_parent / "pyproject.toml").is_file():
        return package_parent
    return Path.cwd().resolve()  # installed without a checkout: the caller's folder stands in


def _from_env(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    path = Path(value).expanduser() if value else default
    return path if path.is_absolute() else (project_root() / path).resolve()


def reference_dir() -> Path:
    """The public reference files: ``$FAS_REFERENCE_DIR`` if set; else ``../shared/reference`` beside the checkout
    when it exists; else ``reference/`` in the cache, where ``python -m fasutils assets fetch`` puts them."""
    if os.environ.get(ENV_REFERENCE_DIR):
        return _from_env(ENV_REFERENCE_DIR, DEFAULT_REFERENCE_DIR)
    beside = (project_root() / DEFAULT_REFERENCE_DIR).resolve()
    return beside if beside.is_dir() else cache_dir() / "reference"


def require_reference_dir() -> Path:
    """:func:`reference_dir`, or :class:`AssetMissing` saying how to point the suite at it."""
    folder = reference_dir()
    if not folder.is_dir():
        raise AssetMissing(
            f"reference directory not found: {folder}. "
            "`python -m fasutils assets fetch` downloads the public reference files into it (verified by sha256), "
            f"or set {ENV_REFERENCE_DIR} to a folder that holds them (default: {DEFAULT_REFERENCE_DIR} beside the "
            "checkout, else data/cache/reference); `python -m fasutils assets` lists each file and its source."
        )
    return folder


def cache_dir() -> Path:
    """Data assembled at run time (git-ignored): ``$FAS_CACHE_DIR``, default ``data/cache``. Created on demand."""
    folder = _from_env(ENV_CACHE_DIR, Path("data") / "cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shipped_model() -> Path:
    """The suite's own liveness model (``models/``; its configuration and threshold in the ``.json`` beside it, its
    card in the ``.md``), chosen by notebook 03 and put there by ``make ship``."""
    return project_root() / "models" / "suite_minifasnet.pt"


def build_dir() -> Path:
    """Executed notebooks, reports, exported models (git-ignored): ``$FAS_BUILD_DIR``, default ``build``."""
    folder = _from_env(ENV_BUILD_DIR, Path("build"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def use_reference_dir(folder: str | Path) -> Iterator[Path]:
    """Point :func:`reference_dir` at ``folder`` inside a ``with`` block, then restore the previous setting."""
    previous = os.environ.get(ENV_REFERENCE_DIR)
    os.environ[ENV_REFERENCE_DIR] = str(folder)
    try:
        yield reference_dir()
    finally:
        if previous is None:
            del os.environ[ENV_REFERENCE_DIR]
        else:
            os.environ[ENV_REFERENCE_DIR] = previous

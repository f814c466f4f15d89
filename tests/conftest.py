"""Shared fixtures: the reference directory (skipped with the reason when absent) and notebook builders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fasutils.core import assets, paths

T = TypeVar("T")

INTRO = """# 99 · A test notebook

**Learning objectives**
- none, it is a fixture

**Runtime**: QUICK 1 s, full 1 s."""
# Face boxes (x, y, w, h) of minivision's three real samples as YuNet finds them, rounded.
SAMPLE_BOXES = {"minivision/sample-live-T1": (119, 113, 170, 240), "minivision/sample-print-F1": (187, 109, 195, 239),
                "minivision/sample-replay-F2": (139, 216, 222, 298)}
PARAMETERS = """from fasutils.core import quick_default

QUICK: bool = quick_default()  # smoke run
scale: int = 2  # a multiplier"""


@pytest.fixture
def reference_dir() -> Path:
    """The real reference directory; the test is skipped, with the remedy as reason, when it is absent."""
    try:
        return paths.require_reference_dir()
    except paths.AssetMissing as missing:
        pytest.skip(str(missing))


def from_reference(build: Callable[[], T]) -> T:
    """``build()``, or skip with the remedy when the reference directory or one of its files is missing.

    Only absence skips: a file with the wrong hash, or a loader that fails, still fails the test.
    """
    try:
        return build()
    except (paths.AssetMissing, assets.AssetMissing) as missing:
        pytest.skip(str(missing))


@pytest.fixture
def make_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Build a notebook that follows the conventions; keyword arguments replace or add its parts."""

    def build(name: str = "99_test_notebook.ipynb", intro: str = INTRO, parameters: str | None = PARAMETERS,
              body: tuple[str, ...] = ("# NBVAL_CHECK_OUTPUT\nprint(QUICK, scale * 21)",),
              kernel: str = "python3") -> Path:
        cells = [new_markdown_cell(intro)]
        if parameters is not None:
            cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
        cells += [new_code_cell(source) for source in body]
        notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": kernel, "display_name": "Python 3",
                                                                       "language": "python"}})
        path = tmp_path / name
        nbformat.write(notebook, path)
        return path

    return build

"""Atomic file writes: a reader sees the old file or the new one, never half of one, even after a crash.

Every file the suite writes for later use (checkpoints, models, reports, records) goes through here;
:func:`output_folder` refuses a results folder whose name is taken by a file, before any work is done.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from fasutils.core.errors import FasError


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` through a temporary file in the same folder, fsync, then ``os.replace``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable; not every file system lets a folder be opened
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write` of ``text`` in UTF-8."""
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def output_folder(path: str | Path, error: type[FasError] = FasError) -> Path:
    """``path`` as a folder to write results into (it may not exist yet); ``error`` when a file of that name is in
    the way, or a parent is a file."""
    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            raise error(f"cannot write results into {path}: {folder} is a file, not a folder; choose another --out")
    return path


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A scratch path for a tool that writes files itself (exporters, quantizers); moved to ``path`` on success.

    The scratch folder sits beside ``path`` (same file system, so the final move is atomic) and is removed
    either way, with anything else the tool left in it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as scratch:
        draft = Path(scratch) / path.name
        yield draft
        os.replace(draft, path)

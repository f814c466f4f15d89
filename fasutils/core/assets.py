"""The registry of public reference files (weights, detectors, sample photos) and their verification.

The files stay outside the project, in :func:`fasutils.core.paths.reference_dir`; ``assets.toml`` records for
each its path there, sha256, licence and public source. :func:`path` hands a file out only after its hash
matches, so a notebook never silently runs on a swapped or truncated model.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from fasutils.core.errors import AssetError, AssetMissing
from fasutils.core.paths import require_reference_dir


@dataclass(frozen=True)
class Asset:
    """One registered reference file."""

    name: str  # registry key, "<family>/<file>", e.g. "minivision/sample-live-T1"
    folder: str  # folder of its source project inside the reference directory
    path: str  # path inside that folder
    sha256: str
    bytes: int
    what: str  # one line: what the file is and how the suite uses it
    licence: str
    origin: str  # public URL where the file can be obtained

    @property
    def relative_path(self) -> Path:
        """Path relative to the reference directory."""
        return Path(self.folder) / self.path


@cache
def registry() -> dict[str, Asset]:
    """All registered assets by name, read once from ``assets.toml``."""
    table = tomllib.loads(resources.files("fasutils.core").joinpath("assets.toml").read_text(encoding="utf-8"))
    assets = {}
    for entry in table["assets"]:
        source = table["sources"][entry["source"]]
        origin = entry.get("origin") or f"{source['repository']}/blob/{source['commit']}/{entry['path']}"
        assets[entry["name"]] = Asset(
            name=entry["name"], folder=source["folder"], path=entry["path"], sha256=entry["sha256"],
            bytes=entry["bytes"], what=entry["what"], licence=entry.get("licence", source["licence"]),
            origin=origin,
        )
    return assets


def get(name: str) -> Asset:
    """The registered asset called ``name``; :class:`AssetError` suggests near names otherwise."""
    try:
        return registry()[name]
    except KeyError:
        close = difflib.get_close_matches(name, registry(), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise AssetError(
            f"unknown asset {name!r}.{hint} `python -m fasutils assets` lists the {len(registry())} registered names."
        ) from None


def names(prefix: str = "") -> list[str]:
    """Registered names starting with ``prefix`` (e.g. ``"widerface/"``), in registry order."""
    return [name for name in registry() if name.startswith(prefix)]


@cache
def _sha256_of(file: Path, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the cache key, so a file changed on disk is hashed again
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def path(name: str) -> Path:
    """Absolute path of asset ``name`` after checking its sha256.

    Raises :class:`~fasutils.core.errors.AssetMissing`, :class:`AssetError`, :class:`AssetMissing` or
    :class:`AssetError`, each naming the file, the expected hash and where to obtain it.
    """
    asset = get(name)
    file = require_reference_dir() / asset.relative_path
    obtain = f"Obtain it from {asset.origin} (licence: {asset.licence})."
    if not file.is_file():
        raise AssetMissing(f"reference file for {name!r} not found: {file} (expected sha256 {asset.sha256}). {obtain}")
    stat = file.stat()
    actual = _sha256_of(file, stat.st_size, stat.st_mtime_ns)
    if actual != asset.sha256:
        raise AssetError(
            f"reference file for {name!r} has the wrong content: {file} has sha256 {actual}, "
            f"expected {asset.sha256} ({asset.bytes} bytes; this one has {stat.st_size}). "
            f"It is altered or another release. {obtain}"
        )
    return file


@dataclass(frozen=True)
class AssetStatus:
    """The outcome of verifying one asset: ``status`` is "ok", "missing" or "wrong hash"."""

    asset: Asset
    status: str
    message: str  # empty when ok


def verify_all(prefix: str = "") -> list[AssetStatus]:
    """Verify every registered asset (or those under ``prefix``) without stopping at the first problem.

    Raises :class:`~fasutils.core.errors.AssetMissing` when the whole directory is absent.
    """
    require_reference_dir()
    statuses = []
    for name in names(prefix):
        try:
            path(name)
            statuses.append(AssetStatus(get(name), "ok", ""))
        except AssetMissing as error:
            statuses.append(AssetStatus(get(name), "missing", str(error)))
        except AssetError as error:
            statuses.append(AssetStatus(get(name), "wrong hash", str(error)))
    return statuses


def status_table(prefix: str = ""):
    """:func:`verify_all` as a ``pandas.DataFrame``: name, status, size, licence, what it is."""
    import pandas as pd

    rows = [
        {"name": s.asset.name, "status": s.status, "kB": round(s.asset.bytes / 1024), "licence": s.asset.licence,
         "what": s.asset.what}
        for s in verify_all(prefix)
    ]
    return pd.DataFrame(rows).set_index("name")

"""The registry of public reference files (weights, detectors, sample photos) and their verification.

The files stay outside the project, in :func:`fasutils.core.paths.reference_dir`; ``assets.toml`` records for
each its path there, sha256, licence and public source at a pinned full commit. :func:`path` hands a file out
only after its hash matches, so a notebook never silently runs on a swapped or truncated model; :func:`fetch`
(``python -m fasutils assets fetch``) downloads what is missing, verified, with each source's licence file.

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from fasutils.core.errors import AssetError, AssetMissing
from fasutils.core.fetch import ENV_BASE_URL, download, sha256_of
from fasutils.core.paths import reference_dir, require_reference_dir

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class Source:
    """A public repository the reference files come from, pinned to one full commit."""

    key: str
    folder: str  # its folder in the reference directory, "<owner>+<repo>"
    repository: str  # https://github.com/<owner>/<repo>
    commit: str  # 40 hex digits
    licence: str
    licence_file: str  # path of its licence file in the repository ("" when none is published)
    licence_sha256: str = ""
    licence_bytes: int = 0

    def url(self, path: str) -> str:
        """``{base}/{owner}/{repo}/{commit}/{path}``; base from ``$FAS_ASSET_BASE_URL`` (default GitHub raw)."""
        base = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        owner_repo = self.repository.removeprefix("https://github.com/").strip("/")
        return f"{base.rstrip('/')}/{owner_repo}/{self.commit}/{path}"


@dataclass(frozen=True)
class Asset:
    """One registered reference file."""

    name: str  # registry key, "<family>/<file>", e.g. "minivision/sample-live-T1"
    source: Source
    path: str  # path inside its source repository (and inside its folder of the reference directory)
    sha256: str
    bytes: int
    what: str  # one line: what the file is and how the suite uses it
    licence: str
    origin: str  # public URL where the file can be obtained

    @property
    def folder(self) -> str:
        return self.source.folder

    @property
    def relative_path(self) -> Path:
        """Path relative to the reference directory."""
        return Path(self.folder) / self.path

    @property
    def url(self) -> str:
        """Where :func:`fetch` downloads it from."""
        return self.source.url(self.path)


@cache
def _table() -> dict:
    return tomllib.loads(resources.files("fasutils.core").joinpath("assets.toml").read_text(encoding="utf-8"))


@cache
def sources() -> dict[str, Source]:
    """The registered source repositories by key."""
    return {key: Source(key, **fields) for key, fields in _table()["sources"].items()}


@cache
def registry() -> dict[str, Asset]:
    """All registered assets by name, read once from ``assets.toml``."""
    assets = {}
    for entry in _table()["assets"]:
        source = sources()[entry["source"]]
        origin = entry.get("origin") or f"{source.repository}/blob/{source.commit}/{entry['path']}"
        assets[entry["name"]] = Asset(
            name=entry["name"], source=source, path=entry["path"], sha256=entry["sha256"], bytes=entry["bytes"],
            what=entry["what"], licence=entry.get("licence", source.licence), origin=origin,
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
    return sha256_of(file)


def path(name: str) -> Path:
    """Absolute path of asset ``name`` after checking its sha256.

    Raises :class:`~fasutils.core.errors.AssetMissing` (the directory or the file is absent) or
    :class:`~fasutils.core.errors.AssetError` (unknown name, wrong content), each naming the file, the expected
    hash and where to obtain it (``python -m fasutils assets fetch``).
    """
    asset = get(name)
    file = require_reference_dir() / asset.relative_path
    obtain = (f"Obtain it with `python -m fasutils assets fetch {name}`, or from {asset.origin} "
              f"(licence: {asset.licence}).")
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


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch` did: the folder, the files downloaded and the files already there."""

    folder: Path
    downloaded: tuple[str, ...]
    present: tuple[str, ...]


def licence_lines(chosen: Sequence[Asset]) -> list[str]:
    """One line per source and licence among ``chosen``: what the user agrees to by downloading them."""
    counts = Counter((asset.source.repository, asset.licence) for asset in chosen)
    return [f"{repository}: {licence} ({count} files)" for (repository, licence), count in counts.items()]


def fetch(selected: Sequence[str] = (), dest: str | Path | None = None, *, progress: bool = True,
          announce: Callable[[str], object] = print) -> Fetched:
    """Download every registered file (or the ``selected`` names) that is not already in ``dest`` (default: the
    reference directory) with its registered sha256, plus each source's licence file; nothing is requested when
    all are present. Licences are announced before the first download.

    Raises :class:`~fasutils.core.errors.AssetError` for an unknown name and
    :class:`~fasutils.core.fetch.DownloadError` (naming the file and URL) when a file cannot be had.
    """
    chosen = [get(name) for name in selected] or list(registry().values())
    folder = Path(dest) if dest is not None else reference_dir()
    wanted = [(a.name, a.url, folder / a.relative_path, a.sha256, a.bytes) for a in chosen]
    for source in dict.fromkeys(a.source for a in chosen):
        if source.licence_file:
            wanted.append((f"{source.key} licence", source.url(source.licence_file),
                           folder / source.folder / source.licence_file, source.licence_sha256, source.licence_bytes))
    missing = [w for w in wanted if not (w[2].is_file() and w[2].stat().st_size == w[4] and sha256_of(w[2]) == w[3])]
    if missing:
        announce(f"downloading {len(missing)} of {len(wanted)} reference files into {folder}; their licences:")
        for line in licence_lines(chosen):
            announce(f"  {line}")
    for name, url, target, sha256, size in missing:
        download(url, target, sha256, size, what=name, progress=progress)
    return Fetched(folder, tuple(w[0] for w in missing), tuple(w[0] for w in wanted if w not in missing))

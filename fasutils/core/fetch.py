"""Downloading a public file, verified: bounded retries and timeouts, resumable, sha256 and size checked, atomic.

The bytes go to ``<file>.part`` beside the destination; an interrupted download resumes from there (an HTTP range
request) on the next call. Only a body of the registered size and sha256 is renamed to the final name, so a file
under its final name is always a verified one, and a previously good file is never replaced by a bad download.
Used by :mod:`fasutils.core.assets` (``python -m fasutils assets fetch``). Introduced in
``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from fasutils.core.errors import AssetError

ENV_BASE_URL = "FAS_ASSET_BASE_URL"
CHUNK = 1 << 16
RETRIES = 3  # attempts for a 5xx answer or a broken connection
TIMEOUT_S = 30.0  # per connection attempt and per read


class DownloadError(AssetError):
    """A registered file that could not be downloaded (the message names the file, the URL and the remedy)."""


def sha256_of(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _offline_hint(url: str) -> str:
    return (f"cannot reach {url.split('/', 3)[2] if '://' in url else url}; set {ENV_BASE_URL} to a mirror that "
            "serves the same paths, or point FAS_REFERENCE_DIR at a folder that already holds the files")


def _open(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    return urllib.request.urlopen(request, timeout=timeout)


def _receive(url: str, part: Path, size: int, what: str, timeout: float, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (starting over if the server ignores the range request)."""
    from tqdm import tqdm

    start = part.stat().st_size if part.is_file() else 0
    if start >= size:  # a complete (or overlong) leftover: verified by the caller, restarted if bad
        return
    with _open(url, start, timeout) as response:
        resumed = start and response.status == 206
        mode = "ab" if resumed else "wb"
        with open(part, mode) as stream, tqdm(total=size, initial=start if resumed else 0, unit="B",
                                              unit_scale=True, desc=what, disable=not progress, leave=False) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                stream.write(block)
                bar.update(len(block))


def download(url: str, destination: str | Path, sha256: str, size: int, *, what: str | None = None,
             retries: int = RETRIES, timeout: float = TIMEOUT_S, progress: bool = True) -> Path:
    """Fetch ``url`` into ``destination`` if it is not already there with ``sha256`` and ``size``; return it.

    :class:`DownloadError` names ``what`` and the URL: for HTTP 404 (at once), 5xx or a broken connection (after
    ``retries`` attempts), a refused connection or a timeout (with how to work offline), a body of the wrong size
    or hash (the partial file deleted), or a destination that is not writable.
    """
    destination = Path(destination)
    what = what or destination.name
    if destination.is_file() and destination.stat().st_size == size and sha256_of(destination) == sha256:
        return destination
    part = destination.with_name(destination.name + ".part")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(destination.parent, os.W_OK):
            raise PermissionError(f"no write permission in {destination.parent}")
    except OSError as error:
        raise DownloadError(f"cannot write {what} into {destination.parent}: {error}") from None
    for attempt in range(1, retries + 1):
        try:
            _receive(url, part, size, what, timeout, progress)
            break
        except urllib.error.HTTPError as error:
            if error.code < 500 or attempt == retries:
                raise DownloadError(f"cannot download {what}: HTTP {error.code} {error.reason} for {url}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, (ConnectionRefusedError, TimeoutError)) or attempt == retries:
                raise DownloadError(f"cannot download {what} from {url} ({reason}): {_offline_hint(url)}") from None
        time.sleep(min(2.0 ** attempt / 4, 2.0))  # 0.5 s, 1 s, 2 s between attempts
    got_size = part.stat().st_size
    got = sha256_of(part) if got_size == size else None
    if got != sha256:
        part.unlink()
        found = f"{got_size} bytes" if got is None else f"sha256 {got}"
        raise DownloadError(f"{what} from {url} is not the registered file: {found}, expected {size} bytes with "
                            f"sha256 {sha256}; the download was deleted (a changed upstream file or a wrong mirror)")
    os.replace(part, destination)
    return destination

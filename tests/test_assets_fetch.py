"""`python -m fasutils assets fetch` against a loopback server laid out like GitHub's raw files: a fresh machine
gets every reference file, verified, and the suite runs from the fetched folder alone."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fasutils.core import assets
from fasutils.core.errors import AssetError
from fasutils.core.fetch import ENV_BASE_URL, DownloadError


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _mirror(reference: Path, root: Path) -> None:
    """``root/{owner}/{repo}/{commit}/{path}`` links to every registered file and licence of ``reference``."""
    files = [(a.source, a.path) for a in assets.registry().values()]
    files += [(s, s.licence_file) for s in assets.sources().values() if s.licence_file]
    for source, path in files:
        owner_repo = source.repository.removeprefix("https://github.com/")
        link = root / owner_repo / source.commit / path
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(reference / source.folder / path)


@pytest.fixture
def mirror(reference_dir, tmp_path, monkeypatch) -> Iterator[Path]:
    root = tmp_path / "mirror"
    _mirror(reference_dir, root)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv(ENV_BASE_URL, f"http://127.0.0.1:{httpd.server_address[1]}")
    yield root
    httpd.shutdown()
    httpd.server_close()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fasutils", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, **env}, check=False, timeout=600)


def test_a_fresh_folder_is_filled_verified_and_the_suite_runs_from_it_alone(mirror, tmp_path):
    fresh = tmp_path / "fresh-reference"
    env = {"FAS_REFERENCE_DIR": str(fresh), ENV_BASE_URL: os.environ[ENV_BASE_URL]}
    fetched = _cli("assets", "fetch", env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert "GPL-3.0" in fetched.stdout and "CC BY-NC-ND 4.0" in fetched.stdout and "none published" in fetched.stdout
    assert f"{len(assets.registry()) + 3} files downloaded" in fetched.stdout  # with the three licence files
    assert (fresh / "derronqi+yolov7-face" / "LICENSE.md").is_file()
    verified = _cli("assets", "--verify", env=env)
    count = len(assets.registry())
    assert verified.returncode == 0 and f"{count}/{count} reference files verified" in verified.stdout
    sample = fresh / assets.get("minivision/sample-live-T1").relative_path
    predicted = _cli("predict", str(sample), "--out", str(tmp_path / "out"), env=env)
    assert predicted.returncode == 0, predicted.stderr
    assert (tmp_path / "out" / "predictions.csv").read_text().count("\n") == 2  # header + the one face
    again = _cli("assets", "fetch", env={**env, ENV_BASE_URL: "http://127.0.0.1:9"})  # nothing to ask for
    assert again.returncode == 0 and "0 files downloaded" in again.stdout


def test_a_changed_upstream_file_is_refused_and_the_good_copy_kept(mirror, tmp_path):
    name = "minivision/sample-print-F1"
    asset = assets.get(name)
    served = mirror / asset.source.repository.removeprefix("https://github.com/") / asset.source.commit / asset.path
    served.unlink()
    served.write_bytes(b"not the photo")
    with pytest.raises(DownloadError, match=f"{name} from http://127.0.0.1:\\d+/.* is not the registered file"):
        assets.fetch([name], tmp_path / "ref", progress=False, announce=lambda line: None)
    assert not (tmp_path / "ref" / asset.relative_path).exists()
    assert not list((tmp_path / "ref").rglob("*.part"))


def test_an_unknown_name_and_an_absent_server_are_named(tmp_path, monkeypatch):
    with pytest.raises(AssetError, match="unknown asset 'minivision/nothing'"):
        assets.fetch(["minivision/nothing"], tmp_path)
    monkeypatch.setenv(ENV_BASE_URL, "http://127.0.0.1:9")
    with pytest.raises(DownloadError, match=f"127.0.0.1:9.*set {ENV_BASE_URL}"):
        assets.fetch(["yunet/detector.onnx"], tmp_path, progress=False, announce=lambda line: None)


def test_urls_are_pinned_to_full_commits(monkeypatch):
    monkeypatch.delenv(ENV_BASE_URL, raising=False)
    for source in assets.sources().values():
        assert len(source.commit) == 40 and int(source.commit, 16) >= 0, source.key
    url = assets.get("yunet/detector.onnx").url
    assert url == ("https://raw.githubusercontent.com/johnraivenolazo/face-antispoof-onnx/"
                   "2b9830bb0eccafddcf0abcedf5c6ad506f0a1142/models/detector.onnx")

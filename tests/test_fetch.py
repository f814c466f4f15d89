"""Downloads against a loopback HTTP server: verified, atomic, resumable, and every failure named."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fasutils.core.fetch import DownloadError, download

BODY = bytes(range(256)) * 400  # 100 kB
SHA = hashlib.sha256(BODY).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """/ok serves BODY (honouring Range), /flaky fails twice with 503, /bad serves other bytes, else 404."""

    failures: dict[str, int] = {}

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = self.path
        if path == "/flaky" and self.failures.setdefault(path, 0) < 2:
            self.failures[path] += 1
            self.send_error(503)
            return
        if path not in ("/ok", "/flaky", "/bad"):
            self.send_error(404)
            return
        body = BODY if path != "/bad" else BODY[::-1]
        start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])


@pytest.fixture
def server() -> Iterator[str]:
    Handler.failures = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_downloads_verified_and_skips_a_file_already_there(server, tmp_path):
    target = download(f"{server}/ok", tmp_path / "a" / "file.bin", SHA, len(BODY), progress=False)
    assert target.read_bytes() == BODY and not list(tmp_path.rglob("*.part"))
    stamp = target.stat().st_mtime_ns
    assert download(f"{server}/missing", target, SHA, len(BODY), progress=False).stat().st_mtime_ns == stamp


def test_an_interrupted_download_resumes_from_its_part_file(server, tmp_path):
    target = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(BODY[:30_000])
    assert download(f"{server}/ok", target, SHA, len(BODY), progress=False).read_bytes() == BODY


def test_5xx_is_retried_and_404_names_the_file_and_url(server, tmp_path):
    assert download(f"{server}/flaky", tmp_path / "f", SHA, len(BODY), progress=False).read_bytes() == BODY
    with pytest.raises(DownloadError, match=r"cannot download weights: HTTP 404 .* for http://127.0.0.1:\d+/nope"):
        download(f"{server}/nope", tmp_path / "g", SHA, len(BODY), what="weights", progress=False)


def test_a_wrong_body_is_deleted_and_the_good_file_left_untouched(server, tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"the previous good file")
    with pytest.raises(DownloadError, match="is not the registered file: sha256 .*the download was deleted"):
        download(f"{server}/bad", target, SHA, len(BODY), progress=False)
    assert target.read_bytes() == b"the previous good file" and not (tmp_path / "file.bin.part").exists()


def test_a_refused_connection_says_how_to_work_offline(tmp_path):
    with pytest.raises(DownloadError, match="set FAS_ASSET_BASE_URL .* or point FAS_REFERENCE_DIR"):
        download("http://127.0.0.1:9/file", tmp_path / "f", SHA, 1, progress=False)


def test_a_destination_that_is_not_writable_is_named(server, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(DownloadError, match="cannot write .* into .*not-a-folder"):
        download(f"{server}/ok", blocker / "file.bin", SHA, len(BODY), progress=False)

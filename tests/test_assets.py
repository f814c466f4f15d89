import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from fasutils.core import assets, paths

FAKE_SOURCE = assets.Source("proj", "proj", "https://github.com/someone/proj", "0" * 40, "CC0", "")


def _fake_asset(name: str, content: bytes) -> assets.Asset:
    return assets.Asset(name=name, source=FAKE_SOURCE, path=f"files/{name.split('/')[-1]}",
                        sha256=hashlib.sha256(content).hexdigest(), bytes=len(content), what="a test file",
                        licence="CC0", origin="https://example.org/proj")


@pytest.fixture
def fake_registry(monkeypatch, tmp_path):
    """A two-file registry over a temporary reference directory; returns that directory."""
    good, other = b"good bytes" * 100, b"other bytes"
    fake = {a.name: a for a in (_fake_asset("proj/good.bin", good), _fake_asset("proj/other.bin", other))}
    monkeypatch.setattr(assets, "registry", lambda: fake)
    (tmp_path / "proj" / "files").mkdir(parents=True)
    (tmp_path / "proj" / "files" / "good.bin").write_bytes(good)
    monkeypatch.setenv(paths.ENV_REFERENCE_DIR, str(tmp_path))
    return tmp_path


def test_registry_entries_are_complete():
    registry = assets.registry()
    assert len(registry) == 48
    for name, asset in registry.items():
        assert re.fullmatch(r"[a-z0-9]+/[\w.\-]+", name), name
        assert re.fullmatch(r"[0-9a-f]{64}", asset.sha256), name
        assert asset.bytes > 0 and asset.what and asset.licence, name
        assert asset.origin.startswith(("https://", "http://")), name
    assert len({a.relative_path for a in registry.values()}) == len(registry), "two names for one file"


def test_licences_follow_the_source_unless_overridden():
    assert assets.get("minivision/sample-live-T1").licence == "Apache-2.0"
    assert assets.get("yunet/detector.onnx").licence.startswith("MIT")
    assert assets.get("widerface/picnic-10").licence.startswith("CC BY-NC-ND")
    assert "github.com/minivision-ai/Silent-Face-Anti-Spoofing/blob/" in assets.get("minivision/sample-live-T1").origin


def test_path_returns_a_verified_file(fake_registry):
    assert assets.path("proj/good.bin") == fake_registry / "proj" / "files" / "good.bin"


def test_missing_file_names_it_the_hash_and_the_source(fake_registry):
    with pytest.raises(assets.AssetMissing) as raised:
        assets.path("proj/other.bin")
    message = str(raised.value)
    assert "other.bin" in message and assets.get("proj/other.bin").sha256 in message
    assert "https://example.org/proj" in message


def test_altered_file_is_refused_even_after_it_was_verified_once(fake_registry):
    file = assets.path("proj/good.bin")
    file.write_bytes(b"tampered")
    with pytest.raises(assets.AssetError) as raised:
        assets.path("proj/good.bin")
    message = str(raised.value)
    assert str(file) in message and assets.get("proj/good.bin").sha256 in message
    assert hashlib.sha256(b"tampered").hexdigest() in message


def test_unknown_name_suggests_close_ones(fake_registry):
    with pytest.raises(assets.AssetError, match=r"Did you mean proj/good\.bin"):
        assets.path("proj/god.bin")


def test_missing_reference_directory_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ENV_REFERENCE_DIR, str(tmp_path / "absent"))
    with pytest.raises(paths.AssetMissing, match="reference directory not found"):
        assets.path("minivision/sample-live-T1")


def test_verify_all_reports_every_file_without_stopping(fake_registry):
    statuses = {s.asset.name: s for s in assets.verify_all()}
    assert statuses["proj/good.bin"].status == "ok" and not statuses["proj/good.bin"].message
    assert statuses["proj/other.bin"].status == "missing" and "other.bin" in statuses["proj/other.bin"].message
    table = assets.status_table()
    assert table.loc["proj/other.bin", "status"] == "missing" and list(table.columns)[0] == "status"


@pytest.mark.reference
def test_every_registered_reference_file_is_present_and_intact(reference_dir):
    statuses = assets.verify_all()
    broken = [(s.asset.name, s.status) for s in statuses if s.status != "ok"]
    assert not broken
    for status in statuses:
        assert (reference_dir / status.asset.relative_path).stat().st_size == status.asset.bytes


@pytest.mark.reference
def test_each_source_folder_keeps_its_licence_file(reference_dir):
    folders = {"minivision-ai+Silent-Face-Anti-Spoofing", "johnraivenolazo+face-antispoof-onnx", "derronqi+yolov7-face"}
    for folder in folders:
        assert any((reference_dir / folder).glob("LICENSE*")), folder


def test_no_reference_file_is_committed():
    root = paths.project_root()
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {root}")
    registered = {a.sha256 for a in assets.registry().values()}
    for name in filter(None, listed.stdout.decode().split("\0")):
        file = Path(root, name)
        if file.is_file():
            assert hashlib.sha256(file.read_bytes()).hexdigest() not in registered, f"{name} is a reference file"

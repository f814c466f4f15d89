from pathlib import Path

import pytest

from fasutils.core import paths


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for variable in (paths.ENV_PROJECT_DIR, paths.ENV_REFERENCE_DIR, paths.ENV_CACHE_DIR, paths.ENV_BUILD_DIR):
        monkeypatch.delenv(variable, raising=False)


def test_project_root_is_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # found from the package's own location, not from where Python was started
    assert (paths.project_root() / "pyproject.toml").is_file()
    assert (paths.project_root() / "fasutils" / "core" / "paths.py").is_file()


def test_reference_dir_is_beside_the_checkout_when_it_exists_else_in_the_cache(monkeypatch, tmp_path):
    checkout = tmp_path / "project"
    checkout.mkdir()
    monkeypatch.setenv(paths.ENV_PROJECT_DIR, str(checkout))
    assert paths.reference_dir() == checkout / "data" / "cache" / "reference"
    (tmp_path / "shared" / "reference").mkdir(parents=True)
    assert paths.reference_dir() == tmp_path / "shared" / "reference"


def test_relative_settings_are_taken_from_the_project_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a notebook kernel runs in notebooks/, not at the root
    monkeypatch.setenv(paths.ENV_REFERENCE_DIR, "elsewhere/ref")
    assert paths.reference_dir() == paths.project_root() / "elsewhere" / "ref"
    monkeypatch.setenv(paths.ENV_REFERENCE_DIR, str(tmp_path))
    assert paths.reference_dir() == tmp_path


def test_cache_and_build_dirs_are_created_where_configured(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ENV_CACHE_DIR, str(tmp_path / "c"))
    monkeypatch.setenv(paths.ENV_BUILD_DIR, str(tmp_path / "b"))
    assert paths.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()
    assert paths.build_dir() == tmp_path / "b" and (tmp_path / "b").is_dir()


def test_missing_reference_dir_names_the_folder_and_the_remedy(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ENV_REFERENCE_DIR, str(tmp_path / "nowhere"))
    with pytest.raises(paths.AssetMissing) as raised:
        paths.require_reference_dir()
    message = str(raised.value)
    assert str(tmp_path / "nowhere") in message and paths.ENV_REFERENCE_DIR in message


@pytest.mark.parametrize("before", [None, "/some/where"])
def test_use_reference_dir_restores_the_previous_setting(monkeypatch, tmp_path, before):
    if before:
        monkeypatch.setenv(paths.ENV_REFERENCE_DIR, before)
    with paths.use_reference_dir(tmp_path) as inside:
        assert inside == tmp_path == paths.reference_dir()
    assert paths.os.environ.get(paths.ENV_REFERENCE_DIR) == before
    if before:
        assert paths.reference_dir() == Path(before)

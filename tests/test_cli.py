"""`python -m fasutils` as a user meets it: readable messages, no tracebacks, meaningful exit codes."""

import os
import subprocess
import sys

import pytest

from fasutils.cli import build_parser, main
from fasutils.core import paths


def fasutils(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "fasutils", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=env, check=False)


def test_assets_lists_names_licences_and_sources():
    result = fasutils("assets")
    assert result.returncode == 0
    assert "minivision/sample-live-T1" in result.stdout and "https://github.com/" in result.stdout


def test_missing_reference_dir_is_one_line_without_traceback(tmp_path):
    result = fasutils("assets", "--verify", env_extra={paths.ENV_REFERENCE_DIR: str(tmp_path / "absent")})
    assert result.returncode == 2
    assert result.stderr.startswith("error: reference directory not found") and "Traceback" not in result.stderr


@pytest.mark.reference
def test_verify_passes_on_the_reference_dir(reference_dir):
    result = fasutils("assets", "--verify", "--prefix", "minivision/")
    assert result.returncode == 0 and "7/7 reference files verified" in result.stdout


def test_check_notebooks_names_the_notebook_and_the_rule(make_notebook):
    bad = make_notebook(name="05_no_params.ipynb", parameters=None)
    result = fasutils("check-notebooks", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "05_no_params.ipynb: no cell tagged 'parameters'" in result.stderr


def test_check_notebooks_passes_on_the_suite():
    result = fasutils("check-notebooks")
    assert result.returncode == 0 and "follow the conventions" in result.stdout


def test_env_reports_torch():
    result = fasutils("env")
    assert result.returncode == 0 and "torch" in result.stdout and "2.13.0" in result.stdout


@pytest.mark.parametrize("bad", ["1,x", "0", "", "2,-1"])
def test_a_bad_number_list_is_refused_saying_what_is_expected(bad, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "--threads", bad])
    assert stopped.value.code == 2
    assert f"argument --threads: expected positive integers separated by commas, such as 1,2, not {bad!r}" in (
        capsys.readouterr().err)


def test_a_number_list_is_parsed():
    assert build_parser().parse_args(["bench", "--threads", "1,2", "--batches", "8"]).threads == (1, 2)


@pytest.mark.parametrize("command", [["evaluate", "--data", "data", "--format", "folder"],
                                     ["report", "--scores", "scores.csv"],
                                     pytest.param(["predict", "photo.jpg", "--detector", "yunet"],
                                                  marks=pytest.mark.reference)])
def test_out_naming_a_file_is_one_message_before_any_work(tmp_path, capsys, command, request):
    if "predict" in command:
        request.getfixturevalue("reference_dir")  # predict loads its detector before it looks at --out
    taken = tmp_path / "taken.txt"
    taken.write_text("not a folder")
    assert main([*command, "--out", str(taken / "report")]) == 2
    error = capsys.readouterr().err
    assert error == (f"error: cannot write results into {taken / 'report'}: {taken} is a file, not a folder; choose "
                     "another --out\n")
    assert taken.read_text() == "not a folder"

"""The runner behind `make run` / `make test`, on tiny notebooks (each starts a Jupyter kernel)."""

import nbformat
import pytest

from fasutils.core.errors import NotebookError
from fasutils.tooling.notebook_runner import (
    execute_notebooks,
    notebook_title,
    write_index,
)

pytestmark = pytest.mark.kernel


def _stdout(path):
    cells = nbformat.read(path, as_version=4).cells
    return "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)


def test_runs_in_order_injects_quick_and_survives_a_failing_notebook(make_notebook, tmp_path):
    failing = make_notebook(name="01_fails.ipynb", body=("# NBVAL_CHECK_OUTPUT\nprint('before')", "1 / 0"))
    working = make_notebook(name="02_works.ipynb")
    runs = execute_notebooks([failing, working], tmp_path / "out", quick=True, html_too=True)

    assert [r.source.name for r in runs] == ["01_fails.ipynb", "02_works.ipynb"]
    assert not runs[0].ok and "ZeroDivisionError" in runs[0].error
    assert "before" in _stdout(runs[0].output), "the partial output of a failing notebook is kept"
    assert runs[1].ok and _stdout(runs[1].output) == "True 42\n"
    assert runs[1].html.read_text(encoding="utf-8").count("99 · A test notebook") >= 1

    (tmp_path / "reports" / "07").mkdir(parents=True)
    (tmp_path / "reports" / "07" / "evaluation_report.html").write_text("<html></html>")
    (tmp_path / "benchmark").mkdir()
    (tmp_path / "benchmark" / "benchmark.json").write_text("{}")
    index = write_index(runs, quick=True, build=tmp_path).read_text(encoding="utf-8")
    assert "failed: ZeroDivisionError" in index and "out/02_works.html" in index and "QUICK" in index
    assert "href='reports/07/evaluation_report.html'" in index and "href='benchmark/benchmark.json'" in index


def test_full_mode_passes_quick_false(make_notebook, tmp_path):
    (run,) = execute_notebooks([make_notebook(name="03_full.ipynb")], tmp_path / "out", quick=False)
    assert run.ok and _stdout(run.output) == "False 42\n"


def test_nothing_runs_when_a_notebook_breaks_the_conventions(make_notebook, tmp_path):
    good, bad = make_notebook(name="01_good.ipynb"), make_notebook(name="02_bad.ipynb", parameters=None)
    with pytest.raises(NotebookError, match="02_bad.ipynb"):
        execute_notebooks([good, bad], tmp_path / "out", quick=True)
    assert not (tmp_path / "out" / "01_good.ipynb").exists()


def test_titles_come_from_the_first_heading(make_notebook):
    assert notebook_title(make_notebook()) == "99 · A test notebook"
    assert notebook_title(make_notebook(name="98_untitled.ipynb", intro="no heading here")) == "98_untitled"

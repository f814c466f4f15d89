import subprocess
import sys

import nbformat
import pytest
from conftest import PARAMETERS

from fasutils.core.errors import NotebookError
from fasutils.tooling.notebook_rules import check_notebook, require_conventions
from fasutils.tooling.notebook_runner import suite_notebooks

SUITE = suite_notebooks()


def test_the_suite_has_notebooks_in_order():
    assert SUITE and SUITE[0].name == "00_environment_and_data.ipynb"
    assert [p.name[:2] for p in SUITE] == sorted(p.name[:2] for p in SUITE)


@pytest.mark.parametrize("notebook", SUITE, ids=[p.name for p in SUITE])
def test_suite_notebook_follows_the_conventions(notebook):
    assert check_notebook(notebook) == []


@pytest.mark.parametrize("notebook", SUITE, ids=[p.name for p in SUITE])
def test_papermill_help_documents_every_parameter(notebook):
    shown = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(notebook)],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True).stdout
    assert "QUICK: bool (default quick_default())" in shown


def test_a_conforming_notebook_passes(make_notebook):
    assert check_notebook(make_notebook()) == []


@pytest.mark.parametrize("change, expected", [
    ({"parameters": None}, "no cell tagged 'parameters'"),
    ({"intro": "# Title only"}, "lacks 'learning objectives'"),
    ({"parameters": PARAMETERS + "\ntwice: int = scale * 2  # derived"}, "derived from scale"),
    ({"parameters": PARAMETERS + "\nlimit: int = 3"}, "'limit' has no comment"),
    ({"parameters": PARAMETERS + "\nprint(scale)"}, "only imports and typed assignments"),
    ({"parameters": PARAMETERS.replace("quick_default()", "False")}, "QUICK must read"),
    ({"parameters": PARAMETERS + "\nrate: float = 0.1  # lr=0.1 by default"},
     "papermill cannot parse parameter 'rate'"),
    ({"parameters": "scale: int = 2  # a multiplier"}, "lacks `QUICK: bool"),
    ({"body": ("print(1)",)}, "no cell is marked '# NBVAL_CHECK_OUTPUT'"),
    ({"body": ("# NBVAL_CHECK_OUTPUT\nimport sys\nsys.path.insert(0, '..')",)}, "touches sys.path"),
    ({"body": ("# NBVAL_CHECK_OUTPUT\n" + "x = 1\n" * 40,)}, "more than 30 lines"),
    ({"kernel": "conda-env-fas-py"}, "kernelspec must be 'python3'"),
    ({"name": "Environment Check.ipynb"}, "does not read NN_topic.ipynb"),
])
def test_each_broken_rule_is_named(make_notebook, change, expected):
    problems = check_notebook(make_notebook(**change))
    assert any(expected in problem for problem in problems), problems


def test_outputs_left_in_the_notebook_are_reported(make_notebook):
    path = make_notebook()
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].execution_count = 1
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    nbformat.write(notebook, path)
    assert any("keeps outputs" in problem for problem in check_notebook(path))


def test_unreadable_notebook_is_reported(tmp_path):
    path = tmp_path / "01_broken.ipynb"
    path.write_text("{ not json")
    assert "cannot be read as a notebook" in check_notebook(path)[0]


def test_require_conventions_lists_every_problem_with_its_file(make_notebook):
    good, bad = make_notebook(), make_notebook(name="98_bad.ipynb", parameters=None)
    require_conventions([good])
    with pytest.raises(NotebookError) as raised:
        require_conventions([good, bad])
    assert "98_bad.ipynb: no cell tagged 'parameters'" in str(raised.value)
    assert "99_test_notebook" not in str(raised.value)

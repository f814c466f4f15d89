"""The suite's notebook conventions, as a checker (the rules are explained in ``notebooks/README.md``).

``python -m fasutils check-notebooks`` and ``tests/test_notebook_conventions.py`` apply :func:`check_notebook`
to every notebook; ``python -m fasutils run-notebooks`` refuses to execute one that breaks them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from fasutils.core.errors import NotebookError

NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9]+(_[a-z0-9]+)*\.ipynb$")
CHECK_OUTPUT_MARKER = "# NBVAL_CHECK_OUTPUT"
MAX_CODE_CELL_LINES = 30  # longer logic belongs in fasutils, where it is tested
PARAMETERS_TAG = "parameters"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _check_first_cell(cell) -> list[str]:
    if cell.cell_type != "markdown":
        return ["the first cell must be Markdown: title, learning objectives, runtime in QUICK and full mode"]
    text = cell.source.lower()
    wanted = {"a '# ' title": text.lstrip().startswith("# "), "'learning objectives'": "learning objectives" in text,
              "the expected 'runtime'": "runtime" in text, "the QUICK runtime": "quick" in text}
    return [f"the first cell lacks {what}" for what, present in wanted.items() if not present]


def _check_parameters_source(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return [f"the parameters cell does not parse: {error.msg} (line {error.lineno})"]
    lines = source.splitlines()
    problems, declared = [], []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None):
            problems.append(f"parameters cell line {node.lineno}: only imports and typed assignments "
                            "`name: type = value  # comment` belong here; compute derived values in a later cell")
            continue
        name = node.target.id
        if "#" not in lines[node.end_lineno - 1]:
            problems.append(f"parameter {name!r} has no comment saying what it does "
                            "(papermill --help-notebook shows it)")
        used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} & set(declared)
        if used:
            problems.append(f"parameter {name!r} is derived from {', '.join(sorted(used))}: papermill would not "
                            "update it when those are overridden; compute it in a later cell")
        declared.append(name)
    quick = next((n for n in tree.body if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "QUICK"),
                 None)
    if quick is None:
        problems.append("the parameters cell lacks `QUICK: bool = quick_default()  # ...`")
    elif ast.unparse(quick.annotation) != "bool" or "quick_default" not in ast.unparse(quick.value):
        problems.append("QUICK must read `QUICK: bool = quick_default()` so that $FAS_QUICK sets its default")
    return problems


def _check_papermill_reads(path: Path, source: str) -> list[str]:
    """Papermill's own parser must see every parameter (a '=' inside a comment, for one, defeats it)."""
    import papermill

    declared = [n.target.id for n in ast.parse(source).body if isinstance(n, ast.AnnAssign)]
    seen = papermill.inspect_notebook(str(path))
    return [f"papermill cannot parse parameter {name!r} (its --help-notebook would omit it): "
            "keep to `name: type = value  # comment`, without '=' in the comment"
            for name in declared if name not in seen or not seen[name]["help"]]


def check_notebook(path: str | Path) -> list[str]:
    """Every way ``path`` breaks the conventions, one readable sentence each (empty when it follows them)."""
    path = Path(path)
    if not NOTEBOOK_NAME.match(path.name):
        return [f"name {path.name!r} does not read NN_topic.ipynb (two digits, lower-case words joined by _)"]
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for broken files
        return [f"cannot be read as a notebook: {error}"]
    cells = notebook.cells
    if len(cells) < 2:
        return ["needs at least a Markdown introduction and a parameters cell"]
    problems = _check_first_cell(cells[0])
    tagged = [i for i, cell in enumerate(cells) if PARAMETERS_TAG in _tags(cell)]
    if not tagged:
        problems.append("no cell tagged 'parameters': papermill would inject QUICK at the top, before the imports. "
                        "Tag the second cell 'parameters' (JupyterLab: property inspector > Cell Tags)")
    elif tagged != [1] or cells[1].cell_type != "code":
        problems.append(f"the parameters cell must be the second cell and the only one tagged (found at {tagged})")
    else:
        problems += _check_parameters_source(cells[1].source) or _check_papermill_reads(path, cells[1].source)
    if notebook.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec must be 'python3' (another name fails with NoSuchKernel on other machines)")
    code_cells = [(i, cell) for i, cell in enumerate(cells) if cell.cell_type == "code"]
    for i, cell in code_cells:
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(f"cell {i} keeps outputs or an execution count: strip them (`make strip`)")
        if "sys.path" in cell.source:
            problems.append(f"cell {i} touches sys.path: import fasutils as installed (`pip install -e .`)")
        if len(cell.source.splitlines()) > MAX_CODE_CELL_LINES:
            problems.append(f"cell {i} has more than {MAX_CODE_CELL_LINES} lines: move the logic into fasutils")
    if not any(CHECK_OUTPUT_MARKER in cell.source for _, cell in code_cells):
        problems.append(f"no cell is marked {CHECK_OUTPUT_MARKER!r}: mark the deterministic facts nbval should compare")
    return problems


def require_conventions(paths: list[Path]) -> None:
    """Raise :class:`NotebookError` listing every problem of every notebook in ``paths``."""
    report = [f"{path}: {problem}" for path in paths for problem in check_notebook(path)]
    if report:
        raise NotebookError("notebook conventions broken (see notebooks/README.md):\n  " + "\n  ".join(report))

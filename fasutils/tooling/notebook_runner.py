"""Execute the notebook suite with papermill, convert it to HTML and write ``build/index.html``.

Behind ``make run`` (full parameters, or ``QUICK=1``) and ``make test`` (QUICK). Each notebook runs in its
own kernel with the notebooks folder as working directory; a failing notebook is recorded, its partial
output kept (papermill marks the failing cell), and the remaining notebooks still run.
"""

from __future__ import annotations

import html
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.core.files import atomic_write_text
from fasutils.core.paths import build_dir, project_root
from fasutils.core.settings import ENV_QUICK
from fasutils.tooling.notebook_rules import require_conventions


@dataclass(frozen=True)
class NotebookRun:
    """One executed notebook: where it came from and went, how long it took, and its error if any."""

    source: Path
    output: Path
    seconds: float
    error: str  # empty when every cell ran
    html: Path | None  # the HTML rendering, when asked for

    @property
    def ok(self) -> bool:
        return not self.error


def suite_notebooks(folder: Path | None = None) -> list[Path]:
    """The suite's notebooks (``NN_*.ipynb``) in execution order."""
    folder = folder or project_root() / "notebooks"
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def notebook_title(path: Path) -> str:
    """The first Markdown heading of a notebook, or its file name."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


def to_html(notebook: Path) -> Path:
    """Render an executed notebook to a self-contained HTML file beside it."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def _describe(failure: Exception) -> str:
    """One line naming what went wrong (papermill's own message carries the whole traceback)."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(failure, PapermillExecutionError):
        return f"{failure.ename}: {failure.evalue} (cell {failure.exec_count})"
    first_line = (str(failure).strip().splitlines() or [""])[0]
    return f"{type(failure).__name__}: {first_line}"


def execute_notebooks(notebooks: list[Path], out_dir: Path, quick: bool, html_too: bool = False,
                      cell_timeout: int | None = None) -> list[NotebookRun]:
    """Run ``notebooks`` in order with ``QUICK=quick`` into ``out_dir``; never stops at a failing one.

    Raises :class:`~fasutils.core.errors.NotebookError` before running anything when a
    notebook breaks the conventions (a missing parameters cell would make papermill misplace QUICK).
    """
    import papermill

    require_conventions(notebooks)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ[ENV_QUICK] = "1" if quick else "0"  # the kernels inherit it, and so do their subprocesses
    runs = []
    for source in tqdm(notebooks, desc="notebooks", unit="nb"):
        output = out_dir / source.name
        start, error = time.perf_counter(), ""
        try:
            papermill.execute_notebook(source, output, parameters={"QUICK": quick}, kernel_name="python3",
                                       cwd=str(source.parent), progress_bar=False, execution_timeout=cell_timeout)
        except Exception as failure:  # recorded and reported; papermill has written the failing cell out
            error = _describe(failure)
        rendered = to_html(output) if html_too and output.exists() else None
        runs.append(NotebookRun(source, output, time.perf_counter() - start, error, rendered))
        tqdm.write(f"{'ok    ' if not error else 'FAILED'} {source.name} ({runs[-1].seconds:.0f} s) {error}")
    return runs


def write_index(runs: list[NotebookRun], quick: bool, build: Path | None = None) -> Path:
    """Write ``build/index.html``: every executed notebook with its status, the evaluation reports and the
    benchmark results under build/."""
    build = (build or build_dir()).resolve()
    rows = []
    for run in runs:
        link = run.html or run.output
        status = "ok" if run.ok else f"failed: {html.escape(run.error)}"
        title = html.escape(notebook_title(run.source))
        rows.append(f"<tr><td><a href='{os.path.relpath(link, build)}'>{title}</a></td>"
                    f"<td>{run.source.name}</td><td class='{'ok' if run.ok else 'bad'}'>{status}</td>"
                    f"<td>{run.seconds:.0f} s</td></tr>")
    reports = sorted([*build.glob("reports/**/*.html"), *build.glob("benchmark/*.json"),
                      *build.glob("benchmark/*.csv")])
    report_items = "".join(f"<li><a href='{p.relative_to(build)}'>{p.relative_to(build)}</a></li>" for p in reports)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>FAS Lab results</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:.3em .8em;text-align:left}}
.ok{{color:#176f2c}}.bad{{color:#b00020}}</style></head><body>
<h1>FAS Lab: executed notebooks</h1>
<p>Mode: {'QUICK (smoke run; numbers are not the full results)' if quick else 'full'}.
Generated {time.strftime('%Y-%m-%d %H:%M %Z')}.</p>
<table><tr><th>notebook</th><th>file</th><th>status</th><th>time</th></tr>{''.join(rows)}</table>
<h2>Reports and results</h2>{f'<ul>{report_items}</ul>' if reports else '<p>No reports yet.</p>'}
</body></html>"""
    return atomic_write_text(build / "index.html", page)

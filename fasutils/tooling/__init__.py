"""Tooling around the suite: the notebook rules of ``notebooks/README.md`` as checks, the runner that executes the
notebooks in order with papermill (``make run``, ``make test``, ``python -m fasutils check-notebooks``), and the
browser demo's builder and server (``python -m fasutils web``, shown in notebook 05), and the ship step that puts
the model notebook 03 chose into ``models/`` (``make ship``).
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "notebook_rules": "check_notebook require_conventions",
    "notebook_runner": "execute_notebooks suite_notebooks write_index",
    "web": "build_web screenshot_path serve",
    "ship": "candidate_dir ship stage",
})

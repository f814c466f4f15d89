"""Keeping the notebooks honest: the notebook rules of ``notebooks/README.md`` as checks, and the runner that
executes them in order with papermill (``make run``, ``make test``, ``python -m fasutils check-notebooks``).
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "notebook_rules": "check_notebook require_conventions",
    "notebook_runner": "execute_notebooks suite_notebooks write_index",
})

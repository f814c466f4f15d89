"""The explicit ship step: the model a full run of notebook 03 chose, with its card, from ``build/models/`` into
``models/``.

``make run`` never touches ``models/``: notebook 03 writes its chosen model, the ``.json`` beside it (training
configuration, input convention, decision threshold, how it was chosen) and its card (``.md``) into
``build/models/``. :func:`ship` (``python -m fasutils ship``, ``make ship``) checks that they come from a full run
and load, then writes them over the shipped files atomically. Introduced in ``03_training.ipynb``.
"""

from __future__ import annotations

import json
from pathlib import Path

from fasutils.core.errors import ToolingError
from fasutils.core.files import atomic_write, atomic_write_text
from fasutils.core.paths import build_dir, shipped_model

SUFFIXES = (".pt", ".json", ".md")  # weights, configuration and threshold, card


def candidate_dir() -> Path:
    """Where notebook 03 writes the model it chose: ``build/models``."""
    return build_dir() / "models"


def stage(candidate: str | Path, card: str, threshold: float, notes: dict[str, object],
          folder: str | Path | None = None) -> list[Path]:
    """Put the chosen candidate (a ``.pt`` with its ``.json``, written by ``save_for_inference``) into ``folder``
    (default :func:`candidate_dir`) under the shipped model's name: the weights, the ``.json`` with ``threshold``
    and ``notes`` added (``quick``: whether a QUICK run chose it), and the ``card`` (Markdown)."""
    candidate = Path(candidate)
    folder = Path(folder) if folder is not None else candidate_dir()
    name = shipped_model().stem
    about = json.loads(candidate.with_suffix(".json").read_text())
    if not 0.0 <= threshold <= 1.0:
        raise ToolingError(f"the threshold must be a P(live) in [0, 1], not {threshold}")
    about |= {"weights": f"{name}.pt", "threshold": float(threshold), **notes}
    folder.mkdir(parents=True, exist_ok=True)
    written = [atomic_write(folder / f"{name}.pt", lambda stream: stream.write(candidate.read_bytes())),
               atomic_write_text(folder / f"{name}.json", json.dumps(about, indent=2) + "\n"),
               atomic_write_text(folder / f"{name}.md", card)]
    return written


def ship(source: str | Path | None = None, target: str | Path | None = None) -> list[Path]:
    """Copy the chosen model's files from ``source`` (default :func:`candidate_dir`) over the shipped ones in
    ``target`` (default ``models/``); :class:`ToolingError` when they are missing, from a QUICK run, or unloadable."""
    from fasutils.export.classifiers import load_classifier

    source = Path(source) if source is not None else candidate_dir()
    name = shipped_model().stem
    target = Path(target) if target is not None else shipped_model().parent
    files = [source / f"{name}{suffix}" for suffix in SUFFIXES]
    missing = [file.name for file in files if not file.is_file()]
    if missing:
        raise ToolingError(f"{source} lacks {', '.join(missing)}: run notebook 03 in full mode first (`make run`, or "
                           "`python -m fasutils run-notebooks notebooks/03_training.ipynb`)")
    about = json.loads(files[1].read_text())
    if about.get("quick", True):
        raise ToolingError(f"{files[1]} comes from a QUICK run (a smoke test on a small dataset): ship a full run's "
                           "model (`make run`, not `make run QUICK=1`)")
    load_classifier(files[0])  # a model that does not load is not shipped
    target.mkdir(parents=True, exist_ok=True)
    return [atomic_write(target / file.name, lambda stream, file=file: stream.write(file.read_bytes()))
            for file in files]

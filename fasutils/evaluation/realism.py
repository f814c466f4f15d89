"""Judging synthetic data with the published anti-spoofing models, each with its own input convention.

The judges are pretrained on real attacks (CelebA-Spoof); the fraction of our simulated spoofs they call spoof
(the *attack realism rate*) and the fraction of camera-model live images they call spoof (the *live
false-reject rate*) say whether the simulation resembles real attacks. Each judge is a published model of
:data:`fasutils.models.published.PUBLISHED`, run from its published ONNX export in onnxruntime (a session of
:func:`fasutils.export.sessions.session`) and read with its registered
:class:`~fasutils.data.input_convention.InputConvention` (crop, colour order, scale, classes, live index).

Introduced in ``00_environment_and_data.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from fasutils.data.input_convention import InputConvention
from fasutils.export.sessions import run_session, session
from fasutils.models.published import PUBLISHED, PublishedModel

JUDGE_NAMES = ("hairymax bin 1.5", "hairymax print-replay 1.5", "johnraivenolazo 98.20")  # trained on CelebA-Spoof


@dataclass(frozen=True)
class Judge:
    """A published model used as a judge, scored from its published ONNX export."""

    model: PublishedModel

    def __post_init__(self) -> None:
        assert self.model.onnx is not None, f"{self.model.name} has no published ONNX export to judge with"

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def asset(self) -> str:
        """The ONNX export's name in ``fasutils/core/assets.toml``."""
        return self.model.onnx

    @property
    def convention(self) -> InputConvention:
        return self.model.convention

    @property
    def classes(self) -> tuple[str, ...]:
        return self.convention.classes


JUDGES = {name: Judge(PUBLISHED[name]) for name in JUDGE_NAMES}


@cache
def _judge_session(asset: str, threads: int):
    from fasutils.core import assets

    return session(assets.path(asset), threads)


def class_probabilities(judge: Judge, images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]],
                        threads: int = 1) -> np.ndarray:
    """Softmax probabilities ``(N, classes)`` for RGB uint8 images with face boxes (x, y, w, h).

    For hairymax's print-replay judge the columns are live, print and replay; the others have live and spoof.
    """
    runner = _judge_session(judge.asset, threads)
    logits = [run_session(runner, judge.convention.prepare([image], [box]))  # (1, classes), one image at a time
              for image, box in zip(images, boxes, strict=True)]
    return judge.convention.probabilities(np.concatenate(logits) if logits else np.zeros((0, len(judge.classes))))


def spoof_probability(judge: Judge, images: Sequence[np.ndarray], boxes: Sequence[Sequence[float]],
                      threads: int = 1) -> np.ndarray:
    """P(spoof) = 1 - P(live) for each image (for the print-replay judge: P(print) + P(replay))."""
    return 1.0 - class_probabilities(judge, images, boxes, threads)[:, judge.convention.live_index]


def judge_records(records: Sequence, judges: Sequence[Judge] = tuple(JUDGES.values()), threshold: float = 0.5,
                  progress: bool = True):
    """One row per record (dataset readers' ``Record``): its path, attack type and each judge's P(spoof).

    Also a boolean column per judge, ``<judge> says spoof``, at ``threshold``.
    """
    import pandas as pd
    from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

    from fasutils.core.images import read_image

    rows = []
    for record in tqdm(records, desc="judging", unit="image", disable=not progress):
        image = read_image(record.path)
        row = {"path": str(record.path), "attack_type": record.attack_type, "split": record.split}
        for judge in judges:
            row[judge.name] = float(spoof_probability(judge, [image], [record.box])[0])
        rows.append(row)
    scores = pd.DataFrame(rows)
    for judge in judges:
        scores[f"{judge.name} says spoof"] = scores[judge.name] > threshold
    return scores


def realism_table(scores, by: str = "attack_type"):
    """Share of images each judge calls spoof, per ``by`` group, with the count.

    For attacks this is the *attack realism rate* (higher: more like real attacks); for live images it is
    the *live false-reject rate* (lower is better).
    """
    verdicts = [c for c in scores.columns if c.endswith(" says spoof")]
    table = scores.groupby(by, observed=True)[verdicts].mean().round(3)
    table.columns = [c.removesuffix(" says spoof") for c in verdicts]
    table.insert(0, "images", scores.groupby(by, observed=True).size())
    return table

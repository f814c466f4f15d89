"""Evaluate liveness models on labelled data and write the hand-over report (``python -m fasutils evaluate``).

Each step is another module's; this one strings them together:

1. **read** the data with the reader of its format (:data:`fasutils.data.formats.READERS`): a ``folder`` tree or
   the suite's ``csv`` manifest (images or videos), ``celeba-spoof`` (the test split of its intra-test
   protocol) or ``oulu-npu`` (one protocol, or every protocol's videos); the reader lists every file it skipped
   and why;
2. **roles** (:func:`~fasutils.evaluation.from_scores.assign_roles`): a ``test`` split is evaluated and a
   development split (``val``, ``dev``, ...) chooses the threshold; without a test split every record is
   evaluated. An empty or one-class evaluation set stops here, before any image is scored, naming what the
   reader skipped;
3. **score** every record with every model (:func:`~fasutils.evaluation.scoring.score_records`): boxes the data
   does not give come from the face detector ``predict`` uses (``detector``), videos are sampled every
   ``every``-th frame, and a picture without a face (or unreadable) is a non-response;
4. **scores.csv** (:mod:`fasutils.evaluation.scores`) is written beside the report and the report is computed
   from it (:func:`~fasutils.evaluation.from_scores.report_scores`), as ``python -m fasutils report --scores``
   computes it: per video for videos, thresholds on the development split, APNRR and BPNRR beside APCER and
   BPCER, and for OULU-NPU's every-protocol reading the per-protocol table;
5. the **report** (:func:`~fasutils.evaluation.report.write_report`), whose provenance holds the detector and the
   command line that reproduces it.

Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fasutils.core.errors import EvaluationError, positive_int
from fasutils.core.files import output_folder
from fasutils.data.formats import FORMATS, PROTOCOL_LISTS, PROTOCOLS, READERS
from fasutils.data.input_convention import InputConvention
from fasutils.data.records import ReadReport, Record
from fasutils.data.videos import DEFAULT_EVERY
from fasutils.detection.detectors import DETECTORS, load_detector
from fasutils.evaluation.from_scores import (
    Evaluation,
    assign_roles,
    check_options,
    option_words,
    report_scores,
    write_evaluation,
)
from fasutils.evaluation.metrics import ScoreSet
from fasutils.evaluation.report import ModelInfo, Provenance
from fasutils.evaluation.scores import read_scores, write_scores
from fasutils.evaluation.scoring import ScoredRecords, score_records
from fasutils.export.classifiers import MINIVISION_FUSED, SUITE, Classifier, load_classifier
from fasutils.models.published import MINIVISION_FUSION, PUBLISHED

SCORES_FILE = "scores.csv"


@dataclass(frozen=True)
class EvaluationSettings:
    """What to evaluate and how; :meth:`command` is the command line that does the same."""

    data: Path  # folder, manifest .csv, the CelebA-Spoof folder holding Data/ and metas/, or the OULU-NPU folder
    data_format: str  # one of fasutils.data.formats.FORMATS
    models: tuple[str, ...] = (SUITE,)  # names or paths, as load_classifier takes them
    threshold: float | None = None  # fixed threshold; None: chosen by `rule`
    rule: str = "apcer"  # "apcer", "fpr" or "eer" (fasutils.evaluation.rates.RULES)
    target: float | None = 0.05  # the rule's target error rate (not used by "eer")
    n_resamples: int = 1000  # bootstrap resamples (0: no confidence intervals)
    seed: int = 0  # of the bootstrap
    name: str | None = None  # the dataset's name in the report (default: the reader's)
    detector: str = DETECTORS[0]  # finds the face boxes the data does not give; predict's default
    every: int = DEFAULT_EVERY  # video frames: score every N-th
    level: str = "auto"  # "auto" (per video for videos), "video" or "frame" (fasutils.evaluation.rates.LEVELS)
    aggregation: str = "mean"  # a video's score from its frames': "mean", "min" or "max"
    protocol: str | None = None  # of a format with protocols (OULU-NPU: "1" ... "4_6", default "all")

    def __post_init__(self) -> None:
        _reader(self.data_format)
        check_options(self)
        if not self.models or len(set(self.models)) != len(self.models):
            raise EvaluationError(f"give each model once, at least one: {', '.join(self.models) or 'none given'}")
        if self.detector not in DETECTORS:
            raise EvaluationError(f"unknown detector {self.detector!r}; choose one of {', '.join(DETECTORS)}")
        positive_int(self.every, "every (the video frame step)", EvaluationError)
        choices = PROTOCOLS.get(self.data_format, ())
        if self.protocol is not None and self.protocol not in choices:
            offered = f"one of {', '.join(choices)}" if choices else f"none: {self.data_format} data has no protocols"
            raise EvaluationError(f"unknown protocol {self.protocol!r}; choose {offered}")

    def command(self, out: str | Path) -> str:
        """The ``python -m fasutils evaluate`` command line that reproduces this evaluation into ``out``."""
        words = ["python", "-m", "fasutils", "evaluate", "--data", str(Path(self.data).resolve()),
                 "--format", self.data_format]
        words += ["--protocol", self.protocol] if self.protocol else []
        for model in self.models:
            words += ["--model", str(Path(model).resolve()) if Path(model).is_file() else model]
        words += ["--detector", self.detector, "--every", str(self.every), *option_words(self)]
        return shlex.join(words + ["--out", str(Path(out).resolve())])


@dataclass(frozen=True)
class Roles:
    """Which records are evaluated and which (if any) choose the threshold, each with a label for the report."""

    evaluated: tuple[Record, ...]
    development: tuple[Record, ...]
    evaluated_label: str  # e.g. "test split"
    development_label: str  # e.g. "val split"; "" when there is none
    unused: dict[str, int]  # records of other splits (e.g. train), per split ("unsplit": records without one)


def _reader(data_format: str) -> tuple[str, Callable[..., ReadReport]]:
    """The reader of ``data_format`` and its name; :class:`EvaluationError` for an unknown format."""
    if data_format not in READERS:
        raise EvaluationError(f"unknown data format {data_format!r}; choose one of {', '.join(FORMATS)}")
    return READERS[data_format]


def read_dataset(data: str | Path, data_format: str, protocol: str | None = None) -> tuple[ReadReport, str]:
    """Read ``data`` with the reader of ``data_format`` (``protocol``, if given, passed on); returns its report and
    the reader's name."""
    name, reader = _reader(data_format)
    read = reader(Path(data), **({"protocol": protocol} if protocol else {}))
    return read, name + (f" (protocol {protocol})" if protocol else "")


def _skip_note(read: ReadReport) -> str:
    """What the reader skipped, naming the first few entries: for an error about too few records."""
    if not read.skipped:
        return ""
    named = "; ".join(f"{item.what} ({item.problem})" for item in read.skipped[:5])
    more = f"; and {len(read.skipped) - 5} more" if len(read.skipped) > 5 else ""
    counts = ", ".join(f"{problem} {count}" for problem, count in read.skip_counts().items())
    return f". The reader skipped {len(read.skipped)} entries ({counts}): {named}{more}"


def _check_labels(records: Sequence[Record], what: str, read: ReadReport) -> None:
    """Fail before scoring when the metrics could not be computed anyway: only one class present."""
    try:
        ScoreSet.of(np.zeros(len(records)), [record.attack_type for record in records])
    except EvaluationError as error:
        raise EvaluationError(f"cannot evaluate the {what}: {error}{_skip_note(read)}") from None


def split_roles(read: ReadReport) -> Roles:
    """The test split to evaluate and the development split to choose thresholds on, or all records."""
    records = read.records
    if not records:
        raise EvaluationError(f"no records to evaluate in {read.root}{_skip_note(read) or ': nothing found'}")
    plan = assign_roles([record.split for record in records])
    roles = Roles(tuple(r for r, keep in zip(records, plan.evaluated, strict=True) if keep),
                  tuple(r for r, keep in zip(records, plan.development, strict=True) if keep),
                  plan.evaluated_label, plan.development_label, plan.unused)
    what = f"{len(records)} records" if roles.evaluated_label == "all records" else roles.evaluated_label
    _check_labels(roles.evaluated, what, read)
    return roles


def _describe_convention(convention: InputConvention) -> str:
    crop, (height, width) = convention.crop, convention.input_size
    values = "raw 0-255" if convention.scale == 1 else f"/ {1 / convention.scale:g}"
    return (f"{convention.name}: crop {crop.name} ({crop.scale:g} x face box, {width}x{height}), "
            f"{convention.color_order.upper()} {values}, classes {', '.join(convention.classes)}, "
            f"live = index {convention.live_index}")


def describe_model(classifier: Classifier) -> ModelInfo:
    """The classifier's provenance: name, sha256 of its weight files, input convention and files."""
    if classifier.name == MINIVISION_FUSED:
        members = [PUBLISHED[name].convention for name in MINIVISION_FUSION]
        convention = ("P(live) = mean of the members' live probabilities (minivision's fusion) of "
                      + " | ".join(_describe_convention(member) for member in members))
    else:
        convention = _describe_convention(classifier.convention)
    return ModelInfo(classifier.name, classifier.sha256(), convention, ", ".join(str(f) for f in classifier.files))


def _check_finite(scored: Sequence[ScoredRecords], where: Sequence[str], dataset: str) -> None:
    """A model that returned NaN or infinite P(live) is broken: stop naming it and the first image."""
    for result, label in zip(scored, where, strict=True):
        for model, scores in result.scores.items():
            bad = np.flatnonzero(~np.isfinite(scores))
            if len(bad):
                raise EvaluationError(f"{model} on the {dataset} ({label}): scores contain {len(bad)} NaN or "
                                      f"infinite value(s), the first for {result.records[bad[0]].path}")


def run_evaluation(settings: EvaluationSettings, out: str | Path, *, progress: bool = True) -> Evaluation:
    """Read, score, write ``scores.csv``, then choose thresholds, compute every metric and write
    ``evaluation_report.{html,json}`` to ``out`` from that file."""
    out = output_folder(out, EvaluationError)
    classifiers = [load_classifier(model) for model in settings.models]  # first: a misspelt name fails at once
    names = [classifier.name for classifier in classifiers]
    if len(set(names)) != len(names):
        raise EvaluationError(f"two models share a name ({', '.join(names)}); the report tells them apart by name")
    read, reader = read_dataset(settings.data, settings.data_format, settings.protocol)
    roles = split_roles(read)
    development = roles.development if settings.threshold is None else ()
    needed = any(record.box is None for record in (*roles.evaluated, *development))
    detector = load_detector(settings.detector) if needed else None
    scored = [score_records(records, classifiers, detector=detector, detector_name=settings.detector,
                            every=settings.every, description=label or "development", progress=progress)
              for records, label in ((roles.evaluated, roles.evaluated_label),
                                     (development, roles.development_label))]
    dataset = settings.name or read.source
    _check_finite(scored, (roles.evaluated_label, roles.development_label), dataset)
    out.mkdir(parents=True, exist_ok=True)
    scores = write_scores(pd.concat([result.table(dataset) for result in scored], ignore_index=True),
                          out / SCORES_FILE)
    every_protocol = settings.protocol in (None, PROTOCOLS.get(settings.data_format, ("",))[-1])  # the last: all
    lists = PROTOCOL_LISTS[settings.data_format](Path(settings.data)) if every_protocol and settings.data_format in \
        PROTOCOL_LISTS else None
    try:
        result = report_scores(read_scores(scores), settings, name=dataset, protocols=lists)
    except EvaluationError as error:
        raise EvaluationError(f"{error}. The scores are kept in {scores}: 'python -m fasutils report --scores "
                              f"{scores}' with other settings reports them without scoring again") from None
    plan = [*result.plan, *(f"not used: {count} {split} records" for split, count in roles.unused.items()),
            f"face boxes: {sum(s.detected for s in scored)} found by {settings.detector} (largest face), the others "
            "from the data"]
    used = ReadReport(read.source, read.root, [*roles.evaluated, *development],
                      [*read.skipped, *result.non_responses()])
    provenance = Provenance.from_read_report(used, models=[describe_model(c) for c in classifiers],
                                             reader=f"{reader}; {'; '.join(plan)}", command=settings.command(out),
                                             detector=settings.detector)
    return write_evaluation(result, provenance, out, scores)

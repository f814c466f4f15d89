"""Evaluate liveness models on labelled data and write the hand-over report (``python -m fasutils evaluate``).

Each step is another module's; this one strings them together:

1. **read** the data with the reader of its format (:data:`fasutils.data.formats.READERS`): a ``folder`` tree,
   the suite's ``csv`` manifest, or ``celeba-spoof`` (the test split of its intra-test protocol); the reader
   lists every file it skipped and why;
2. **roles**: when the records carry a ``test`` split, it is evaluated and a development split (``val``,
   ``dev``, ...) chooses the threshold; without a test split every record is evaluated. An empty or one-class
   evaluation set stops here, before any image is scored;
3. **score** every record with every model (:func:`fasutils.export.classifiers.load_classifier`), each image read
   once and shared by the models. A record without a face box gets the largest face YuNet finds (folder trees
   have no boxes); an image that cannot be decoded, or shows no face, is skipped and reported, never dropped
   silently;
4. **threshold** per model: fixed when given; else a rule (:data:`fasutils.evaluation.rates.RULES`) on the
   development split; else the same rule on the evaluated data itself, which the report says (its error rates
   are then optimistic; CelebA-Spoof's official protocol has no development split);
5. **metrics** (:func:`~fasutils.evaluation.metrics.evaluate_scores`) and the **report**
   (:func:`~fasutils.evaluation.report.write_report`), whose provenance holds the command line that reproduces it.

Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm  # text bars: work in terminals, notebooks and CI logs alike

from fasutils.core.errors import DetectionError, EvaluationError
from fasutils.core.images import ImageReadError, read_image
from fasutils.data.formats import FORMATS, READERS
from fasutils.data.input_convention import InputConvention
from fasutils.data.records import ReadReport, Record, Skipped
from fasutils.detection.yunet import YuNet
from fasutils.evaluation.metrics import (
    PadReport,
    ScoreSet,
    choose_threshold,
    evaluate_scores,
)
from fasutils.evaluation.rates import RULES, Threshold, percent
from fasutils.evaluation.report import (
    ModelInfo,
    Provenance,
    ReportFiles,
    read_report,
    write_report,
)
from fasutils.export.classifiers import (
    MINIVISION_FUSED,
    SUITE,
    Classifier,
    load_classifier,
)
from fasutils.models.published import MINIVISION_FUSION, PUBLISHED

DEVELOPMENT_SPLITS = frozenset({"val", "valid", "validation", "dev", "devel"})
TEST_SPLITS = frozenset({"test", "testing"})


@dataclass(frozen=True)
class EvaluationSettings:
    """What to evaluate and how; :meth:`command` is the command line that does the same."""

    data: Path  # folder, manifest .csv, or the CelebA-Spoof folder holding Data/ and metas/
    data_format: str  # one of fasutils.data.formats.FORMATS
    models: tuple[str, ...] = (SUITE,)  # names or paths, as load_classifier takes them
    threshold: float | None = None  # fixed threshold; None: chosen by `rule`
    rule: str = "apcer"  # "apcer", "fpr" or "eer" (fasutils.evaluation.rates.RULES)
    target: float | None = 0.05  # the rule's target error rate (not used by "eer")
    n_resamples: int = 1000  # bootstrap resamples (0: no confidence intervals)
    seed: int = 0  # of the bootstrap
    name: str | None = None  # the dataset's name in the report (default: the reader's)

    def __post_init__(self) -> None:
        _reader(self.data_format)
        if self.rule not in RULES:
            raise EvaluationError(f"unknown threshold rule {self.rule!r}; choose one of {', '.join(RULES)}")
        if not self.models or len(set(self.models)) != len(self.models):
            raise EvaluationError(f"give each model once, at least one: {', '.join(self.models) or 'none given'}")
        if self.n_resamples < 0:
            raise EvaluationError(f"bootstrap resamples must be 0 or more, not {self.n_resamples}")

    def command(self, out: str | Path) -> str:
        """The ``python -m fasutils evaluate`` command line that reproduces this evaluation into ``out``."""
        words = ["python", "-m", "fasutils", "evaluate", "--data", str(Path(self.data).resolve()),
                 "--format", self.data_format]
        for model in self.models:
            words += ["--model", str(Path(model).resolve()) if Path(model).is_file() else model]
        if self.threshold is not None:
            words += ["--threshold", repr(self.threshold)]
        else:
            words += ["--rule", self.rule] + (["--target", repr(self.target)] if self.rule != "eer" else [])
        words += ["--bootstrap", str(self.n_resamples), "--seed", str(self.seed)]
        words += ["--name", self.name] if self.name else []
        return shlex.join(words + ["--out", str(Path(out).resolve())])


@dataclass(frozen=True)
class Roles:
    """Which records are evaluated and which (if any) choose the threshold, each with a label for the report."""

    evaluated: tuple[Record, ...]
    development: tuple[Record, ...]
    evaluated_label: str  # e.g. "test split"
    development_label: str  # e.g. "val split"; "" when there is none
    unused: dict[str, int]  # records of other splits (e.g. train), per split ("unsplit": records without one)


@dataclass(frozen=True, eq=False)
class ScoredRecords:
    """Every model's P(live) per scored record; records are given their face box when it was detected."""

    records: tuple[Record, ...]
    scores: dict[str, np.ndarray]  # model name -> P(live), one per record
    skipped: tuple[Skipped, ...]  # unreadable images, images without a face
    detected: int  # records whose face box YuNet found

    @property
    def attack_types(self) -> list[str]:
        return [record.attack_type for record in self.records]


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One evaluation's reports (one per model), their provenance, the files written and the JSON as read back."""

    reports: tuple[PadReport, ...]
    provenance: Provenance
    files: ReportFiles
    document: dict

    def summary(self) -> str:
        """A few lines to print: the headline per model, what was skipped, and where the report is."""
        lines = ["  ".join(f"{key} {value}" for key, value in row.items()) for row in headline(self.document)]
        skipped = self.document["provenance"]["skipped"]
        lines.append(f"skipped: {sum(skipped.values())}" + "".join(f"; {k} {n}" for k, n in skipped.items()))
        return "\n".join(lines + [f"report: {self.files.html}", f"every number: {self.files.json}"])


def _reader(data_format: str) -> tuple[str, Callable[[Path], ReadReport]]:
    """The reader of ``data_format`` and its name; :class:`EvaluationError` for an unknown format."""
    if data_format not in READERS:
        raise EvaluationError(f"unknown data format {data_format!r}; choose one of {', '.join(FORMATS)}")
    return READERS[data_format]


def read_dataset(data: str | Path, data_format: str) -> tuple[ReadReport, str]:
    """Read ``data`` with the reader of ``data_format``; returns its report and the reader's name."""
    name, reader = _reader(data_format)
    return reader(Path(data)), name


def _check_labels(records: Sequence[Record], what: str) -> None:
    """Fail before scoring when the metrics could not be computed anyway: only one class present."""
    try:
        ScoreSet.of(np.zeros(len(records)), [record.attack_type for record in records])
    except EvaluationError as error:
        raise EvaluationError(f"cannot evaluate the {what}: {error}") from None


def split_roles(read: ReadReport) -> Roles:
    """The test split to evaluate and the development split to choose thresholds on, or all records."""
    records = read.records
    if not records:
        problems = "".join(f", {problem} {count}" for problem, count in read.skip_counts().items())
        raise EvaluationError(f"no records to evaluate in {read.root}: {len(read.skipped)} skipped{problems}")
    splits = {record.split for record in records}
    if not splits & TEST_SPLITS:
        _check_labels(records, f"{len(records)} records")
        return Roles(tuple(records), (), "all records", "", {})
    test = tuple(record for record in records if record.split in TEST_SPLITS)
    development = tuple(record for record in records if record.split in DEVELOPMENT_SPLITS)
    unused = {split or "unsplit": sum(record.split == split for record in records)
              for split in sorted(splits - TEST_SPLITS - DEVELOPMENT_SPLITS, key=str)}
    roles = Roles(test, development, f"{' + '.join(sorted(splits & TEST_SPLITS))} split",
                  f"{' + '.join(sorted(splits & DEVELOPMENT_SPLITS))} split" if development else "", unused)
    _check_labels(roles.evaluated, roles.evaluated_label)
    return roles


def score_records(records: Sequence[Record], classifiers: Sequence[Classifier], *, detector: YuNet | None = None,
                  batch_size: int = 64, description: str = "scoring", progress: bool = True) -> ScoredRecords:
    """P(live) of every record by every classifier; images are read once per batch and shared by the models.

    A record without a face box gets the largest face ``detector`` finds (default YuNet, made when first
    needed). Records whose image cannot be read or shows no face are skipped with the reason.
    """
    kept: list[Record] = []
    parts: dict[str, list[np.ndarray]] = {classifier.name: [] for classifier in classifiers}
    skipped: list[Skipped] = []
    detected = 0
    with tqdm(total=len(records), desc=description, unit="image", disable=not (progress and records)) as bar:
        for start in range(0, len(records), batch_size):
            images, batch = [], []
            for record in records[start:start + batch_size]:
                bar.update()
                try:
                    image = read_image(record.path, "rgb")
                    if record.box is None:
                        detector = detector or YuNet()
                        record = dataclasses.replace(record, box=detector.detect_largest(image, str(record.path)).box)
                        detected += 1
                except ImageReadError as error:
                    skipped.append(Skipped(str(record.path), f"image {error.problem}", error.detail))
                except DetectionError as error:
                    skipped.append(Skipped(str(record.path), "no face found", str(error)))
                else:
                    images.append(image)
                    batch.append(record)
            for classifier in classifiers:
                parts[classifier.name].append(classifier.live_probability(images, [r.box for r in batch]))
            kept += batch
    scores = {name: np.concatenate(arrays) if arrays else np.zeros(0) for name, arrays in parts.items()}
    return ScoredRecords(tuple(kept), scores, tuple(skipped), detected)


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


def _threshold(settings: EvaluationSettings, name: str, roles: Roles, development: ScoredRecords,
               evaluated: ScoredRecords) -> Threshold:
    if settings.threshold is not None:
        return Threshold.fixed(settings.threshold, "given with --threshold")
    if development.records:
        scored, where = development, f"{roles.development_label} ({len(development.records)} images)"
    else:
        scored, where = evaluated, (f"{roles.evaluated_label} itself (no development split: the error rates at "
                                    "this threshold are optimistic)")
    try:
        return choose_threshold(scored.scores[name], scored.attack_types, settings.rule, settings.target, where)
    except EvaluationError as error:
        raise EvaluationError(f"{name}: cannot choose the threshold on the {where}: {error}. Give a fixed "
                              "--threshold, or another --rule or --target") from None


def _report(settings: EvaluationSettings, name: str, threshold: Threshold, evaluated: ScoredRecords,
            dataset: str) -> PadReport:
    subjects = [record.subject for record in evaluated.records]
    try:
        return evaluate_scores(evaluated.scores[name], evaluated.attack_types, threshold, model=name, dataset=dataset,
                               subjects=subjects if all(subjects) else None, n_resamples=settings.n_resamples,
                               seed=settings.seed)
    except EvaluationError as error:
        raise EvaluationError(f"{name} on the {dataset}: {error}") from None


def run_evaluation(settings: EvaluationSettings, out: str | Path, *, progress: bool = True) -> Evaluation:
    """Read, score, choose thresholds, compute every metric and write ``evaluation_report.{html,json}`` to ``out``."""
    classifiers = [load_classifier(model) for model in settings.models]  # first: a misspelt name fails at once
    names = [classifier.name for classifier in classifiers]
    if len(set(names)) != len(names):
        raise EvaluationError(f"two models share a name ({', '.join(names)}); the report tells them apart by name")
    read, reader = read_dataset(settings.data, settings.data_format)
    roles = split_roles(read)
    evaluated = score_records(roles.evaluated, classifiers, description=roles.evaluated_label, progress=progress)
    development = score_records(roles.development if settings.threshold is None else (), classifiers,
                                description=roles.development_label, progress=progress)
    dataset = f"{settings.name or read.source} ({roles.evaluated_label})"
    reports = [_report(settings, name, _threshold(settings, name, roles, development, evaluated), evaluated, dataset)
               for name in names]
    both = (evaluated, development)
    chosen_on = roles.development_label if development.records else f"{roles.evaluated_label} itself"
    plan = [f"evaluated: {roles.evaluated_label}",
            f"threshold: {'fixed' if settings.threshold is not None else f'chosen on the {chosen_on}'}",
            *(f"not used: {count} {split} records" for split, count in roles.unused.items()),
            f"face boxes: {sum(s.detected for s in both)} found by YuNet (largest face), the others from the data"]
    used = ReadReport(read.source, read.root, [r for s in both for r in s.records],
                      [*read.skipped, *(item for s in both for item in s.skipped)])
    provenance = Provenance.from_read_report(used,
                                             models=[describe_model(c) for c in classifiers],
                                             reader=f"{reader}; {'; '.join(plan)}", command=settings.command(out))
    files = write_report(reports, provenance, out)
    return Evaluation(tuple(reports), provenance, files, read_report(files.json))


def headline(document: Mapping) -> list[dict[str, str]]:
    """Per model of a report's JSON: AUC, EER, threshold and the error rates there, formatted as its HTML shows them."""
    rows = []
    for model in document["models"]:
        rates = model["at_threshold"]
        rows.append({"model": model["model"], "AUC": f"{model['auc']:.4f}", "EER": percent(model["eer"]["value"]),
                     "threshold": f"{model['threshold']['value']:.4f}",
                     "APCER (worst type)": f"{percent(rates['apcer_max'])} ({rates['worst_attack_type']})",
                     "BPCER": percent(rates["bpcer"]), "ACER": percent(rates["acer"])})
    return rows

"""The report from score tables alone: roles, evaluation level, thresholds, metrics with non-response rates.

``python -m fasutils evaluate`` scores the data, writes ``scores.csv``, reads it back and hands it to
:func:`report_scores`; ``python -m fasutils report --scores scores.csv`` (:func:`run_report`) does the same
with any score file (:mod:`fasutils.evaluation.scores`), so the two reports agree number for number.

1. **roles** (:func:`assign_roles`): rows of a ``test`` split are evaluated and rows of a development split
   (``val``, ``dev``, ...) choose the threshold; without a test split every row is evaluated. ``--dev`` gives the
   development scores as a file of their own instead (bob.pad's dev and eval score files);
2. **level** (:func:`~fasutils.evaluation.scores.at_level`): per video (the default when the scores come from
   video frames; the frames' mean, min or max, named in the report), per frame, or per image;
3. **threshold** per model: fixed when given; else a rule (:data:`~fasutils.evaluation.rates.RULES`) on the
   development rows; else the same rule on the evaluated rows themselves, which the report says;
4. **metrics** (:func:`~fasutils.evaluation.metrics.evaluate_scores`) on the scored rows, with the non-responses
   (rows without a score) as APNRR and BPNRR; with protocol lists (OULU-NPU) also the per-protocol table
   (:mod:`fasutils.evaluation.protocols`).

Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from fasutils.core.errors import EvaluationError
from fasutils.core.files import output_folder
from fasutils.data.oulu_npu import protocol_lists
from fasutils.data.records import ATTACK_TYPES, ReadReport, Skipped
from fasutils.evaluation.metrics import PadReport, choose_threshold, evaluate_scores
from fasutils.evaluation.protocols import ProtocolLists, protocol_results
from fasutils.evaluation.rates import AGGREGATIONS, LEVELS, RULES, Threshold, percent
from fasutils.evaluation.report import ModelInfo, Provenance, ReportFiles, read_report, write_report
from fasutils.evaluation.scores import DATA_BOX, at_level, read_scores, split_responses

DEVELOPMENT_SPLITS = frozenset({"val", "valid", "validation", "dev", "devel"})
TEST_SPLITS = frozenset({"test", "testing"})
UNITS = {"video": "videos", "frame": "frames", "image": "images"}


class ScoreOptions(Protocol):
    """How scores become a report: what both commands' settings hold."""

    threshold: float | None
    rule: str
    target: float | None
    n_resamples: int
    seed: int
    name: str | None
    level: str
    aggregation: str


def check_options(options: ScoreOptions) -> None:
    """:class:`EvaluationError` for a rule, level, aggregation or resample count the metrics do not know."""
    if options.rule not in RULES:
        raise EvaluationError(f"unknown threshold rule {options.rule!r}; choose one of {', '.join(RULES)}")
    if options.level not in LEVELS or options.aggregation not in AGGREGATIONS:
        raise EvaluationError(f"level must be one of {', '.join(LEVELS)} and the frame aggregation one of "
                              f"{', '.join(AGGREGATIONS)}, not {options.level!r} and {options.aggregation!r}")
    if options.n_resamples < 0:
        raise EvaluationError(f"bootstrap resamples must be 0 or more, not {options.n_resamples}")


def option_words(options: ScoreOptions) -> list[str]:
    """The command-line words of ``options``, as both commands take them."""
    if options.threshold is not None:
        words = ["--threshold", repr(options.threshold)]
    else:
        words = ["--rule", options.rule] + (["--target", repr(options.target)] if options.rule != "eer" else [])
    words += ["--bootstrap", str(options.n_resamples), "--seed", str(options.seed)]
    words += ["--level", options.level, "--aggregate", options.aggregation]
    return words + (["--name", options.name] if options.name else [])


@dataclass(frozen=True)
class RolePlan:
    """Which rows (records) are evaluated and which choose the threshold, as masks, with labels for the report."""

    evaluated: np.ndarray  # bool per row
    development: np.ndarray  # bool per row
    evaluated_label: str  # e.g. "test split"
    development_label: str  # e.g. "val split"; "" when there is none
    unused: dict[str, int]  # rows of other splits (e.g. train), per split ("unsplit": rows without one)


def assign_roles(splits: Sequence[str | None]) -> RolePlan:
    """Test-split rows are evaluated and development-split rows choose the threshold; without a test split
    every row is evaluated."""
    names = np.array([split or "" for split in splits], dtype=object)
    present = set(names.tolist())
    if not present & TEST_SPLITS:
        return RolePlan(np.ones(len(names), bool), np.zeros(len(names), bool), "all records", "", {})
    evaluated, development = np.isin(names, list(TEST_SPLITS)), np.isin(names, list(DEVELOPMENT_SPLITS))
    unused = {split or "unsplit": int((names == split).sum())
              for split in sorted(present - TEST_SPLITS - DEVELOPMENT_SPLITS)}
    return RolePlan(evaluated, development, f"{' + '.join(sorted(present & TEST_SPLITS))} split",
                    f"{' + '.join(sorted(present & DEVELOPMENT_SPLITS))} split" if development.any() else "", unused)


@dataclass(frozen=True, eq=False)
class ScoreReports:
    """One report per model from a score table, and the rows (at the evaluated level) they were computed from."""

    reports: tuple[PadReport, ...]
    evaluated: pd.DataFrame
    development: pd.DataFrame  # empty when the threshold was fixed or there is no development split
    level: str  # "video", "frame" or "image"
    plan: tuple[str, ...]  # what was evaluated and how, for the provenance
    protocols: dict | None = None  # the per-protocol results (fasutils.evaluation.protocols), when asked for

    def non_responses(self) -> list[Skipped]:
        """Each evaluated or development sample without a score (the first model's), as a skipped entry."""
        rows = pd.concat([self.evaluated, self.development])
        rows = rows[(rows["model"] == self.reports[0].model) & rows["score"].isna()]
        return [Skipped(path if pd.isna(frame) else f"{path} frame {frame}", f"non-response: {reason}", reason)
                for path, frame, reason in zip(rows["path"], rows["frame"], rows["non_response"], strict=True)]

    def presentations(self) -> dict[str, int]:
        """Samples per attack type at the evaluated level, evaluated and development, scored or not."""
        rows = pd.concat([self.evaluated, self.development])
        counts = rows[rows["model"] == self.reports[0].model]["attack_type"].value_counts()
        return {kind: int(counts[kind]) for kind in ATTACK_TYPES if kind in counts}


def _label(rows: pd.DataFrame, default: str) -> str:
    splits = sorted({split for split in rows["split"] if split})
    return f"{' + '.join(splits)} split" if splits else default


def _threshold(options: ScoreOptions, model: str, development: pd.DataFrame, evaluated: pd.DataFrame,
               labels: tuple[str, str], unit: str) -> Threshold:
    if options.threshold is not None:
        return Threshold.fixed(options.threshold, "given with --threshold")
    scored = split_responses(development[development["model"] == model])[0]
    where = f"{labels[1]} ({len(scored)} {unit})"
    if scored.empty:
        scored, where = evaluated, (f"{labels[0]} itself (no development split: the error rates at this threshold "
                                    "are optimistic)")
    try:
        return choose_threshold(scored["score"].to_numpy(), scored["attack_type"].tolist(), options.rule,
                                options.target, where)
    except EvaluationError as error:
        raise EvaluationError(f"{model}: cannot choose the threshold on the {where}: {error}. Give a fixed "
                              "--threshold, or another --rule or --target") from None


def report_scores(scores: pd.DataFrame, options: ScoreOptions, development: pd.DataFrame | None = None, *,
                  name: str = "scores", protocols: ProtocolLists | None = None) -> ScoreReports:
    """Every model's report from a checked score table (:func:`~fasutils.evaluation.scores.read_scores`); the
    development rows come from ``development`` or, without it, from the table's own splits. ``name`` is the
    dataset's name when neither ``options.name`` nor the table's ``dataset`` column gives one."""
    if development is None:
        roles = assign_roles(scores["split"].tolist())
        evaluated, development = scores[roles.evaluated], scores[roles.development]
        labels = (roles.evaluated_label, roles.development_label)
    else:
        evaluated, labels = scores, (_label(scores, "scores"), _label(development, "development scores"))
    evaluated, level = at_level(evaluated, options.level, options.aggregation)
    if options.threshold is not None or development.empty:
        development = evaluated.iloc[:0]
    else:
        development = at_level(development, "frame" if level == "image" else level, options.aggregation)[0]
    models = list(dict.fromkeys(evaluated["model"]))
    absent = sorted(set(models) - set(development["model"])) if not development.empty else []
    if absent:
        raise EvaluationError(f"the development scores lack model(s) {', '.join(absent)}; give every model's scores")
    names = {value for value in evaluated["dataset"] if value}
    note = {"video": f", per video: {options.aggregation} P(live) of its scored frames", "frame": ", per frame",
            "image": ""}[level]
    dataset = f"{options.name or (names.pop() if len(names) == 1 else name)} ({labels[0]}{note})"
    reports = []
    for model in models:
        scored, missing, reasons = split_responses(evaluated[evaluated["model"] == model])
        threshold = _threshold(options, model, development, scored, labels, UNITS[level])
        subjects = scored["subject"].tolist()
        try:
            reports.append(evaluate_scores(
                scored["score"].to_numpy(), scored["attack_type"].tolist(), threshold, model=model, dataset=dataset,
                subjects=subjects if all(subjects) else None, n_resamples=options.n_resamples, seed=options.seed,
                non_responses=missing, non_response_reasons=reasons))
        except EvaluationError as error:
            raise EvaluationError(f"{model} on the {dataset}: {error}") from None
    chosen_on = labels[1] if not development.empty else f"{labels[0]} itself"
    plan = (f"evaluated: {labels[0]}, {level} level"
            + (f" ({options.aggregation} P(live) over each video's scored frames)" if level == "video" else ""),
            f"threshold: {'fixed' if options.threshold is not None else f'chosen on the {chosen_on}'}")
    rows = pd.concat([evaluated, development])
    return ScoreReports(tuple(reports), evaluated, development, level, plan,
                        None if protocols is None else protocol_results(rows, protocols, options))


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One evaluation's reports (one per model), their provenance, the files written and the JSON as read back."""

    reports: tuple[PadReport, ...]
    provenance: Provenance
    files: ReportFiles
    document: dict
    scored: ScoreReports

    def summary(self) -> str:
        """A few lines to print: the headline per model, what was skipped, and where the report is."""
        lines = ["  ".join(f"{key} {value}" for key, value in row.items()) for row in headline(self.document)]
        skipped = self.document["provenance"]["skipped"]
        lines.append(f"skipped: {sum(skipped.values())}" + "".join(f"; {k} {n}" for k, n in skipped.items()))
        for row in (self.document.get("protocols") or {}).get("summary", ()):
            lines.append(f"{row['model']} protocol {row['protocol']}: ACER {row['acer']}")
        return "\n".join(lines + [f"report: {self.files.html}", f"every number: {self.files.json}",
                                  f"scores: {self.files.scores}"])


def headline(document: Mapping) -> list[dict[str, str]]:
    """Per model of a report's JSON: AUC, EER, threshold and the error rates there, formatted as its HTML shows them."""
    rows = []
    for model in document["models"]:
        rates, missing = model["at_threshold"], model.get("non_response")
        row = {"model": model["model"], "AUC": f"{model['auc']:.4f}", "EER": percent(model["eer"]["value"]),
               "threshold": f"{model['threshold']['value']:.4f}",
               "APCER (worst type)": f"{percent(rates['apcer_max'])} ({rates['worst_attack_type']})",
               "BPCER": percent(rates["bpcer"]), "ACER": percent(rates["acer"])}
        if missing:
            row |= {"APNRR (worst type)": f"{percent(missing['apnrr_max'])} ({missing['worst_attack_type']})",
                    "BPNRR": percent(missing["bpnrr"])}
        rows.append(row)
    return rows


def write_evaluation(scored: ScoreReports, provenance: Provenance, out: Path, scores: Path) -> Evaluation:
    """Write the report of ``scored`` into ``out`` beside its score file and read it back."""
    files = write_report(scored.reports, provenance, out, protocols=scored.protocols, scores=scores)
    return Evaluation(scored.reports, provenance, files, read_report(files.json), scored)


@dataclass(frozen=True)
class ReportSettings:
    """``python -m fasutils report``: a score file (and development scores), and how to make the report."""

    scores: Path
    development: Path | None = None
    threshold: float | None = None
    rule: str = "apcer"
    target: float | None = 0.05
    n_resamples: int = 1000
    seed: int = 0
    name: str | None = None
    level: str = "auto"
    aggregation: str = "mean"
    protocols: Path | None = None  # a dataset folder with protocol lists (OULU-NPU): add the per-protocol table

    def __post_init__(self) -> None:
        check_options(self)

    def command(self, out: str | Path) -> str:
        """The ``python -m fasutils report`` command line that reproduces this report into ``out``."""
        words = ["python", "-m", "fasutils", "report", "--scores", str(Path(self.scores).resolve())]
        words += ["--dev", str(Path(self.development).resolve())] if self.development else []
        words += ["--protocols", str(Path(self.protocols).resolve())] if self.protocols else []
        return shlex.join(words + option_words(self) + ["--out", str(Path(out).resolve())])


def run_report(settings: ReportSettings, out: str | Path) -> Evaluation:
    """The report (``evaluation_report.{html,json}`` in ``out``) of a score file, as ``evaluate`` makes it."""
    out = output_folder(out, EvaluationError)
    table = read_scores(settings.scores)
    development = read_scores(settings.development) if settings.development else None
    lists = protocol_lists(settings.protocols) if settings.protocols else None
    scored = report_scores(table, settings, development, name=Path(settings.scores).stem, protocols=lists)
    unknown = "not known: read from a score file"
    detectors = sorted({value for value in table["detector"] if value and value != DATA_BOX})
    read = ReadReport("scores", Path(settings.scores), [], scored.non_responses())
    provenance = Provenance.from_read_report(
        read, models=[ModelInfo(report.model, unknown, unknown, str(settings.scores)) for report in scored.reports],
        reader=f"fasutils.evaluation.scores.read_scores; {'; '.join(scored.plan)}", command=settings.command(out),
        detector=", ".join(detectors) or "none named in the scores", records=scored.presentations())
    return write_evaluation(scored, provenance, out, Path(settings.scores))

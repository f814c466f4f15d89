"""Hand-over report of an evaluation: one self-contained HTML file and one JSON file holding every number.

Several models evaluated on the same data (:class:`~fasutils.evaluation.metrics.PadReport`) appear side by side, with
their provenance: model file hashes and input conventions, the dataset reader and what it skipped and why, the
library versions and the command that reproduces the run. The HTML's numbers are rendered from the JSON text
as written (parsed back), so the two files agree; its figures (ROC, DET, score histograms, confusion matrices,
drawn by :func:`fasutils.evaluation.figures.report_figures`) are inline PNGs with the captions of
:data:`CAPTIONS`. Both files are written atomically.

Introduced in ``07_evaluation_report.ipynb``.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from matplotlib.figure import Figure

from fasutils.core.errors import EvaluationError
from fasutils.core.files import atomic_write_text
from fasutils.core.settings import environment_rows
from fasutils.data.records import ReadReport
from fasutils.evaluation.figures import report_figures
from fasutils.evaluation.metrics import PadReport
from fasutils.evaluation.rates import SCORE_CONVENTION, percent

REPORT_FORMAT = "fas-lab-evaluation-report/1"
SKIPPED_EXAMPLES = 20  # skipped files listed by name and reason; the counts cover them all
AS_REJECTIONS = "non-responses as rejections"

CAPTIONS = {
    "roc": "ROC: each curve is one model as the threshold sweeps from strict (bottom left) to lenient (top right). "
           "x = attacks accepted as live (FPR, all attack types pooled), y = live faces accepted (TPR = 1 - BPCER). "
           "Higher and further left is better; the area under the curve is the AUC. The dot is the chosen threshold.",
    "det": "DET: the same trade-off with both error rates on probit (normal-deviate) axes, which spreads out the "
           "low-error corner that matters in deployment. x = attacks accepted (FPR), y = live rejected (BPCER). "
           "Lower left is better; the dashed diagonal meets each curve at its EER; the dot is the chosen threshold.",
    "histograms": "Score (P(live)) distributions per attack type, each normalised to its own sample count. Live "
                  "should sit on the right and every attack type on the left. The share of an attack type right of "
                  "the dashed threshold is its APCER; the share of live left of it is the BPCER.",
    "confusion": "Confusion matrices at the chosen threshold: rows are the true class, columns the decision. Top "
                 "right counts live faces rejected (BPCER), bottom left attacks accepted (pooled APCER); the "
                 "percentages are shares of the row.",
}

GLOSSARY = (
    ("Score", SCORE_CONVENTION + "."),
    ("APCER", "Attack presentation classification error rate (ISO/IEC 30107-3): the share of one attack type's "
              "samples accepted as live. The standard's overall APCER is the worst (highest) over attack types; "
              "'pooled' treats all attacks as one class and is reported for comparison only."),
    ("BPCER", "Bona fide presentation classification error rate: the share of live faces rejected as attacks."),
    ("APNRR, BPNRR", "Attack (bona fide) presentation non-response rate (ISO/IEC 30107-3): the share of one attack "
                     "type's (of live) samples that gave no decision, e.g. no face found. APCER and BPCER leave them "
                     "out; read as rejections, an attack that gave none is stopped and a live face is rejected."),
    ("Video level", "A video's score is the mean (or min, max) P(live) of its sampled frames with a face, as bob.pad's "
                    "finalize-scores makes it; a video without a face in any sampled frame is a non-response."),
    ("ACER", "(worst-type APCER + BPCER) / 2. Deprecated by ISO/IEC 30107-3:2023 (it mixes two errors with different "
             "costs) but still reported in the literature."),
    ("TPR, FPR", "Binary-classifier names with live as the positive class: TPR = live accepted = 1 - BPCER; "
                 "FPR = attacks accepted = pooled APCER. TPR@FPR=1e-2 is the TPR at the lowest threshold where at "
                 "most 1 % of attacks pass; it is not reachable with fewer than 100 attack samples. CelebA-Spoof's "
                 "script labels FPR 1e-2, 5e-3, 1e-3 as '10E-3, 5E-3, 10E-4' and takes spoof as positive, so its "
                 "numbers are not the ones here."),
    ("BPCER20, BPCER100", "BPCER at the lowest threshold where every attack type's APCER is at most 5 % (1 %); not "
                          "reachable when an attack type has fewer than 20 (100) samples."),
    ("EER", "Equal error rate: where FPR = FNR (= BPCER), interpolated linearly between ROC points."),
    ("AUC", "Area under the ROC curve: the probability that a random live face scores above a random attack."),
    ("Confidence interval", "Bootstrap percentile interval at the stated threshold: whole subjects are resampled "
                            "when subject ids are known (their images are not independent), samples otherwise."),
)

STYLE = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f2f2f2}figure{margin:1rem 0}
figcaption{font-size:.9rem;color:#444;max-width:60rem}img{max-width:100%}code,pre{background:#f6f6f6}
pre{padding:.5rem;white-space:pre-wrap}dt{font-weight:bold;margin-top:.5rem}"""


@dataclass(frozen=True)
class ModelInfo:
    """Which model file produced a report's scores: its name (as in the report), sha256 and input convention."""

    name: str
    sha256: str
    convention: str
    file: str = ""


@dataclass(frozen=True)
class Provenance:
    """Where the scores come from and how to reproduce them."""

    models: tuple[ModelInfo, ...]
    reader: str  # e.g. "fasutils.data.celeba_spoof.read_celeba_spoof"
    dataset_root: str
    records: dict[str, int]  # records read, per attack type
    skipped: dict[str, int]  # files or entries the reader left out, per problem
    skipped_examples: tuple[tuple[str, str], ...]  # (what, reason) of the first few
    command: str
    environment: tuple[tuple[str, str], ...]
    detector: str = ""  # the face detector that found the boxes the data did not give

    @classmethod
    def from_read_report(cls, read: ReadReport, *, models: Sequence[ModelInfo], reader: str, command: str,
                         environment: Sequence[tuple[str, str]] | None = None, detector: str = "",
                         records: Mapping[str, int] | None = None) -> Provenance:
        """Provenance from a dataset reader's :class:`~fasutils.data.records.ReadReport` (``records`` replaces its
        counts per attack type); the environment defaults to :func:`fasutils.core.settings.environment_rows`."""
        return cls(tuple(models), reader, str(read.root), dict(read.label_counts() if records is None else records),
                   read.skip_counts(), tuple((item.what, item.reason) for item in read.skipped[:SKIPPED_EXAMPLES]),
                   command, tuple(environment_rows() if environment is None else environment), detector)

    def to_dict(self) -> dict:
        return {"models": [asdict(model) for model in self.models], "reader": self.reader,
                "dataset_root": self.dataset_root, "records": self.records, "skipped": self.skipped,
                "n_skipped": sum(self.skipped.values()),
                "skipped_examples": [{"what": what, "reason": reason} for what, reason in self.skipped_examples],
                "command": self.command, "environment": [list(row) for row in self.environment],
                "detector": self.detector}


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    scores: Path | None = None  # the score file the report was computed from


def _point_names(report: PadReport) -> list[str]:
    return [point.name for point in report.tpr_at_fpr + report.bpcer_at_apcer]


def report_document(reports: Sequence[PadReport], provenance: Provenance, protocols: Mapping | None = None) -> dict:
    """The JSON content: format, time written, provenance, each model's :meth:`PadReport.to_dict` and, when given,
    the per-protocol results (:func:`fasutils.evaluation.protocols.protocol_results`)."""
    if not reports:
        raise EvaluationError("no reports to write")
    names = [report.model for report in reports]
    if len(set(names)) != len(names):
        raise EvaluationError(f"model names must be unique to tell the columns apart: {', '.join(names)}")
    first = reports[0]
    for report in reports[1:]:
        if (report.dataset, report.presentations) != (first.dataset, first.presentations):
            raise EvaluationError(f"models side by side must be evaluated on the same data: {first.model} has "
                                  f"{first.dataset} {first.presentations}, {report.model} has {report.dataset} "
                                  f"{report.presentations}")
        if _point_names(report) != _point_names(first):
            raise EvaluationError(f"models side by side need the same operating points: {first.model} has "
                                  f"{', '.join(_point_names(first))}, {report.model} {', '.join(_point_names(report))}")
    described = {model.name for model in provenance.models}
    if described != set(names):
        raise EvaluationError(f"provenance must describe exactly the reported models: missing "
                              f"{sorted(set(names) - described) or 'none'}, "
                              f"unknown {sorted(described - set(names)) or 'none'}")
    return {"format": REPORT_FORMAT, "written": datetime.now(UTC).isoformat(timespec="seconds"),
            "score_convention": SCORE_CONVENTION, "provenance": provenance.to_dict(),
            "models": [report.to_dict() for report in reports], **({"protocols": protocols} if protocols else {})}


def _png_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _rate(point: Mapping) -> str:
    return "not reachable" if point["value"] is None else percent(point["value"])


def _interval(bootstrap: Mapping | None, metric: str, show: Callable[[float], str]) -> str:
    if bootstrap is None:
        return "not computed"
    low, high = bootstrap["intervals"][metric]
    return f"[{show(low)}, {show(high)}]"


def _summary(models: Sequence[Mapping]) -> str:
    def row(label: str, cell: Callable[[Mapping], str]) -> list[str]:
        return [label, *(cell(model) for model in models)]

    rows = [row("samples (live / attack)", lambda m: f"{m['n_samples']} ({m['counts']['live']} / "
                                                    f"{m['n_samples'] - m['counts']['live']})"),
            row("AUC", lambda m: _score(m["auc"])), row("EER", lambda m: percent(m["eer"]["value"])),
            row("EER threshold", lambda m: _score(m["eer"]["threshold"])),
            row("threshold", lambda m: f"{_score(m['threshold']['value'])} ({m['threshold']['rule']})"),
            row("APCER (worst type)", lambda m: f"{percent(m['at_threshold']['apcer_max'])} "
                                                f"({m['at_threshold']['worst_attack_type']})"),
            row("APCER pooled", lambda m: percent(m["at_threshold"]["apcer_pooled"])),
            row("BPCER", lambda m: percent(m["at_threshold"]["bpcer"])),
            row("ACER (deprecated)", lambda m: percent(m["at_threshold"]["acer"]))]
    if all(model["non_response"] for model in models):
        def counted(m: Mapping) -> Mapping:
            return m["non_response"]["counted_as_rejections"]

        rows += [row("APNRR (worst type)", lambda m: f"{percent(m['non_response']['apnrr_max'])} "
                                                      f"({m['non_response']['worst_attack_type']})"),
                 row("BPNRR", lambda m: percent(m["non_response"]["bpnrr"])),
                 row(f"APCER (worst type), {AS_REJECTIONS}", lambda m: f"{percent(counted(m)['apcer_max'])} "
                                                                     f"({counted(m)['worst_attack_type']})"),
                 row(f"BPCER, {AS_REJECTIONS}", lambda m: percent(counted(m)["bpcer"])),
                 row(f"ACER, {AS_REJECTIONS}", lambda m: percent(counted(m)["acer"]))]
    for key in ("tpr_at_fpr", "bpcer_at_apcer"):
        for index, point in enumerate(models[0][key]):
            rows.append(row(point["name"], lambda m, i=index, k=key: _rate(m[k][i])))
    return _table(["metric", *(model["model"] for model in models)], rows)


def _per_type(models: Sequence[Mapping]) -> str:
    header = ["type", "samples"] + [f"{model['model']}: {column}" for model in models
                                    for column in ("error rate", "mean score")]
    rows = []
    for index, first in enumerate(models[0]["at_threshold"]["per_type"]):
        cells = [f"{first['attack_type']} ({first['metric']})", first["count"]]
        for model in models:
            entry = model["at_threshold"]["per_type"][index]
            cells += [f"{percent(entry['rate'])} ({entry['errors']})", _score(entry["mean_score"])]
        rows.append(cells)
    return _table(header, rows)


def _non_response(models: Sequence[Mapping]) -> str:
    if not all(model["non_response"] for model in models):
        return "<p>Not counted: these scores come without the samples that gave none.</p>"
    header = ["type", "presentations"] + [f"{model['model']}: rate (non-responses)" for model in models]
    rows = []
    for index, first in enumerate(models[0]["non_response"]["per_type"]):
        rows.append([f"{first['attack_type']} ({first['metric']})", first["presentations"],
                     *(f"{percent(entry['rate'])} ({entry['non_responses']})"
                       for entry in (model["non_response"]["per_type"][index] for model in models))])
    reasons = [", ".join(f"{reason} {count}" for reason, count in model["non_response"]["reasons"].items()) or "none"
               for model in models]
    return _table(header, rows) + "".join(f"<p>{html.escape(model['model'])}, reasons: {html.escape(reason)}</p>"
                                          for model, reason in zip(models, reasons, strict=True))


def _protocols(document: Mapping) -> str:
    results = document.get("protocols")
    if not results:
        return ""
    summary = _table(["model", "protocol", "sub-protocols", "ACER"],
                     [[row["model"], row["protocol"], row["n"], row["acer"]] for row in results["summary"]])
    detail = _table(["model", "protocol", "development / test samples", "threshold", "APCER (worst type)", "BPCER",
                     "ACER", "APNRR (worst type)", "BPNRR"],
                    [[row["model"], row["protocol"], f"{row['dev']} / {row['test']}", _score(row["threshold"]),
                      f"{percent(row['apcer'])} ({row['worst_attack_type']})", percent(row["bpcer"]),
                      percent(row["acer"]), percent(row["apnrr_max"]), percent(row["bpnrr"])]
                     for row in results["rows"]])
    return (f"<h2>Protocols</h2><p>Threshold: {html.escape(results['threshold'])}. ACER as papers report it; "
            f"{html.escape(results['note'])}.</p>{summary}{detail}")


def _operating_points(model: Mapping) -> str:
    rows = [[p["name"], _rate(p), _score(p["threshold"]), "n/a" if p["achieved"] is None else percent(p["achieved"]),
             p["n_negatives"], p["reason"] or ""] for p in model["tpr_at_fpr"] + model["bpcer_at_apcer"]]
    return _table(["operating point", "value", "threshold", "FPR / APCER reached", "attack samples (resolution)",
                   "note"], rows)


def _intervals(models: Sequence[Mapping]) -> str:
    metrics = (("AUC", "auc", _score), ("EER", "eer", percent), ("APCER (worst type)", "apcer", percent),
               ("BPCER", "bpcer", percent), ("ACER", "acer", percent))
    rows = [[label, *(_interval(model["bootstrap"], key, show) for model in models)] for label, key, show in metrics]
    notes = []
    for model in models:
        boot = model["bootstrap"]
        notes.append(f"{model['model']}: " + (model["notes"].get("bootstrap", "not computed") if boot is None else
                     f"{round(100 * boot['confidence'])} % percentile interval, {boot['n_used']} of "
                     f"{boot['n_resamples']} resamples of {boot['unit']}s used, seed {boot['seed']}, threshold "
                     f"{_score(boot['threshold'])}"))
    return _table(["metric", *(model["model"] for model in models)], rows) + "".join(
        f"<p>{html.escape(note)}</p>" for note in notes)


def _provenance(document: Mapping) -> str:
    source = document["provenance"]
    models = _table(["model", "file", "sha256", "input convention"],
                    [[m["name"], m["file"], m["sha256"], m["convention"]] for m in source["models"]])
    dataset = _table(["item", "value"], [
        ["reader", source["reader"]], ["root", source["dataset_root"]], ["face detector", source["detector"]],
        *[[f"records: {kind}", count] for kind, count in source["records"].items()],
        ["skipped (total)", source["n_skipped"]],
        *[[f"skipped: {problem}", count] for problem, count in source["skipped"].items()]])
    examples = _table(["skipped file or entry", "reason"],
                      [[item["what"], item["reason"]] for item in source["skipped_examples"]]) \
        if source["skipped_examples"] else ""
    return (f"<h3>Models</h3>{models}<h3>Dataset</h3>{dataset}{examples}"
            f"<h3>Command that reproduces this report</h3><pre>{html.escape(source['command'])}</pre>"
            f"<h3>Environment</h3>{_table(['item', 'value'], source['environment'])}")


def render_html(document: Mapping, figures: Mapping[str, str]) -> str:
    """The HTML page of a :func:`report_document` (as read back from JSON) with ``figures`` as data URIs."""
    models = document["models"]
    thresholds = "".join(f"<p><b>{html.escape(m['model'])}</b>: {html.escape(m['threshold']['description'])}</p>"
                         for m in models)
    figure_html = "".join(f'<figure><img alt="{key}" src="{uri}"><figcaption>{html.escape(CAPTIONS[key])}'
                          f"</figcaption></figure>" for key, uri in figures.items())
    glossary = "".join(f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for term, text in GLOSSARY)
    title = f"PAD evaluation on {models[0]['dataset']}: {', '.join(m['model'] for m in models)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Written {html.escape(document['written'])} ({html.escape(document['format'])}).
{html.escape(document['score_convention'])}. Every number here is also in the JSON file written beside this page.</p>
<h2>Summary at the chosen threshold</h2>
<p>APCER, BPCER and ACER count the samples that gave a decision; a sample that gave none (no face found, a file
that cannot be read) counts in APNRR or BPNRR instead, and the rows marked "{AS_REJECTIONS}" read each as a
rejection (a live one rejected, an attack one stopped).</p>{_summary(models)}
<h2>Threshold</h2>{thresholds}
<h2>Per attack type</h2>{_per_type(models)}
<h2>Non-responses</h2>{_non_response(models)}
{_protocols(document)}
<h2>Operating points</h2>{''.join(f"<h3>{html.escape(m['model'])}</h3>{_operating_points(m)}" for m in models)}
<h2>Confidence intervals</h2>{_intervals(models)}
<h2>Figures</h2>{figure_html}
<h2>Provenance</h2>{_provenance(document)}
<h2>Glossary</h2><dl>{glossary}</dl>
</body></html>
"""


def write_report(reports: Sequence[PadReport], provenance: Provenance, folder: str | Path,
                 name: str = "evaluation_report", *, protocols: Mapping | None = None,
                 scores: Path | None = None) -> ReportFiles:
    """Write ``<name>.json`` (every number) and ``<name>.html`` (rendered from that JSON) into ``folder``;
    ``scores`` names the score file they were computed from."""
    text = json.dumps(report_document(reports, provenance, protocols), indent=1, allow_nan=False) + "\n"
    figures = report_figures(reports)
    page = render_html(json.loads(text), {key: _png_uri(figure) for key, figure in figures.items()})
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(folder / f"{name}.html", folder / f"{name}.json", scores)
    atomic_write_text(files.json, text)
    atomic_write_text(files.html, page)
    return files


def read_report(path: str | Path) -> dict:
    """A report's JSON file as written by :func:`write_report`."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EvaluationError(f"cannot read the report {path}: {error}") from None
    if not isinstance(document, dict) or document.get("format") != REPORT_FORMAT:
        raise EvaluationError(f"{path} is not an evaluation report (expected format {REPORT_FORMAT!r})")
    return document

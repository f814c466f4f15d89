"""The hand-over report: HTML and JSON agree, the HTML stands alone, files are written atomically."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import os
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from fasutils.core.errors import EvaluationError
from fasutils.data.records import ReadReport, Record, Skipped
from fasutils.evaluation.figures import report_figures
from fasutils.evaluation.metrics import choose_threshold, evaluate_scores
from fasutils.evaluation.rates import percent
from fasutils.evaluation.report import (
    REPORT_FORMAT,
    ModelInfo,
    Provenance,
    read_report,
    write_report,
)

ENVIRONMENT = (("python", "3.11.9"), ("scikit-learn", "1.9.1"))


def make_reports(separations=(0.4, 0.2), subjects: bool = True, dataset: str = "synthetic test split"):
    """One report per separation: same 240 labelled samples, thresholds chosen on a separate dev split."""
    rng = np.random.default_rng(0)
    dev_types, types = (rng.choice(["live", "print", "replay", "mask"], 240, p=[0.4, 0.3, 0.2, 0.1])
                        for _ in range(2))
    ids = rng.integers(0, 30, 240).astype(str) if subjects else None
    reports = []
    for index, separation in enumerate(separations):
        def scores(kinds, separation=separation):
            return np.clip(rng.normal(np.where(kinds == "live", 0.5 + separation, 0.5 - separation), 0.2), 0, 1)
        threshold = choose_threshold(scores(dev_types), dev_types, rule="apcer", target=0.05)
        reports.append(evaluate_scores(scores(types), types, threshold, model=f"model-{index}", dataset=dataset,
                                       subjects=ids, n_resamples=40, seed=index))
    return reports


def provenance(reports, **changes) -> Provenance:
    fields = dict(models=tuple(ModelInfo(r.model, f"{i:02d}" * 32, "minivision", f"models/{r.model}.pth")
                               for i, r in enumerate(reports)),
                  reader="fasutils.data.readers.read_manifest", dataset_root="/data/test",
                  records=dict(reports[0].counts),
                  skipped={"image truncated": 2}, skipped_examples=(("/data/test/x.jpg", "JPEG ends early"),),
                  command="python -m fasutils evaluate --split test", environment=ENVIRONMENT)
    return Provenance(**{**fields, **changes})


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    reports = make_reports()
    folder = tmp_path_factory.mktemp("report")
    return reports, write_report(reports, provenance(reports), folder), folder


def test_every_number_of_the_json_appears_in_the_html_as_formatted(written):
    _, files, _ = written
    document = read_report(files.json)
    page = html.unescape(files.html.read_text(encoding="utf-8"))
    assert document["format"] == REPORT_FORMAT and len(document["models"]) == 2
    for model in document["models"]:
        rates = model["at_threshold"]
        expected = [f"{model['auc']:.4f}", percent(model["eer"]["value"]), f"{model['threshold']['value']:.4f}",
                    f"{percent(rates['apcer_max'])} ({rates['worst_attack_type']})", percent(rates["apcer_pooled"]),
                    percent(rates["bpcer"]), percent(rates["acer"]), model["threshold"]["description"]]
        expected += [f"{percent(row['rate'])} ({row['errors']})" for row in rates["per_type"]]
        expected += [f"{row['mean_score']:.4f}" for row in rates["per_type"]]
        for point in model["tpr_at_fpr"] + model["bpcer_at_apcer"]:
            expected.append("not reachable" if point["value"] is None else percent(point["value"]))
            expected.append(point["reason"] or f"{point['threshold']:.4f}")
        low, high = model["bootstrap"]["intervals"]["auc"]
        expected.append(f"[{low:.4f}, {high:.4f}]")
        expected += [f"[{percent(low)}, {percent(high)}]" for name, (low, high)
                     in model["bootstrap"]["intervals"].items() if name != "auc"]
        missing = [text for text in expected if text not in page]
        assert not missing, f"{model['model']}: not in the HTML: {missing}"
    for text in ("JPEG ends early", "python -m fasutils evaluate --split test", "00" * 32, "scikit-learn", "1.9.1"):
        assert text in page


def test_the_html_stands_alone_with_inline_figures_and_captions(written):
    _, files, _ = written
    page = files.html.read_text(encoding="utf-8")
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert len(sources) == 4 and all(source.startswith("data:image/png;base64,") for source in sources)
    assert all(base64.b64decode(source.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n" for source in sources)
    assert not re.search(r"\bhref=|<link|<script|url\(", page)
    assert page.count("<figcaption>") == 4 and "probit" in page
    assert "Glossary" in page and "Deprecated by ISO/IEC 30107-3:2023" in page


def test_two_models_sit_side_by_side(written):
    reports, files, _ = written
    page = files.html.read_text(encoding="utf-8")
    assert "<tr><th>metric</th><th>model-0</th><th>model-1</th></tr>" in page
    histograms = report_figures(reports)["histograms"]
    assert [axis.get_title() for axis in histograms.axes] == ["model-0", "model-1"]


def test_files_are_replaced_atomically_and_no_temporary_file_stays(written, monkeypatch):
    reports, files, folder = written
    assert sorted(path.name for path in folder.iterdir()) == ["evaluation_report.html", "evaluation_report.json"]
    before = files.json.read_bytes(), files.html.read_bytes()

    def fail(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(reports, provenance(reports), folder)
    assert (files.json.read_bytes(), files.html.read_bytes()) == before
    assert sorted(path.name for path in folder.iterdir()) == ["evaluation_report.html", "evaluation_report.json"]


def test_json_holds_no_nan_and_reads_back(written, tmp_path):
    _, files, _ = written
    text = files.json.read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert read_report(files.json)["provenance"]["n_skipped"] == 2
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(EvaluationError, match="not an evaluation report"):
        read_report(tmp_path / "other.json")
    with pytest.raises(EvaluationError, match="cannot read the report"):
        read_report(tmp_path / "missing.json")


def test_reports_that_cannot_share_a_page_are_refused(tmp_path):
    reports = make_reports()
    other = [dataclasses.replace(make_reports(separations=(0.3,), dataset="another split")[0], model="other")]
    with pytest.raises(EvaluationError, match="same data"):
        write_report([reports[0], *other], provenance([reports[0], *other]), tmp_path)
    with pytest.raises(EvaluationError, match="unique"):
        write_report([reports[0], reports[0]], provenance(reports), tmp_path)
    with pytest.raises(EvaluationError, match=r"missing \['model-1'\]"):
        write_report(reports, provenance(reports[:1]), tmp_path)
    assert not list(tmp_path.iterdir())


def test_provenance_from_a_read_report_keeps_counts_reasons_and_versions(tmp_path):
    read = ReadReport("manifest", tmp_path, [Record(tmp_path / "a.png", False, "live")],
                      [Skipped("b.txt", "not an image file", "not an image file (suffix .txt)")])
    reports = make_reports(separations=(0.3,), subjects=False)
    source = Provenance.from_read_report(read, models=[ModelInfo("model-0", "ab" * 32, "hairymax")],
                                         reader="fasutils.data.readers.read_manifest", command="make evaluate")
    assert source.records == {"live": 1} and source.skipped == {"not an image file": 1}
    assert source.skipped_examples == (("b.txt", "not an image file (suffix .txt)"),)
    assert dict(source.environment)["scikit-learn"] != "not installed"
    document = read_report(write_report(reports, source, tmp_path, name="single").json)
    assert document["models"][0]["bootstrap"]["unit"] == "sample"


def test_writing_a_report_leaves_pyplot_and_the_backend_alone(written, tmp_path):
    import matplotlib.pyplot as plt

    reports, _, _ = written
    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    write_report(reports, provenance(reports), Path(tmp_path))
    assert matplotlib.get_backend() == backend and plt.get_fignums() == figures

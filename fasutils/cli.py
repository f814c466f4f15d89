"""``python -m fasutils COMMAND``: the suite's command line. Problems a user can fix print as one message."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fasutils.core.errors import FasError
from fasutils.data.formats import FORMATS, PROTOCOLS
from fasutils.data.videos import DEFAULT_EVERY
from fasutils.detection.detectors import DETECTORS  # the choice lists, from the modules that define them
from fasutils.evaluation.rates import AGGREGATIONS, LEVELS, RULES


def _env(args: argparse.Namespace) -> int:
    from fasutils.core.settings import environment_rows

    width = max(len(item) for item, _ in environment_rows())
    for item, value in environment_rows():
        print(f"{item:<{width}}  {value}")
    return 0


def _assets(args: argparse.Namespace) -> int:
    from fasutils.core import assets
    from fasutils.core.paths import reference_dir

    if args.assets_command == "fetch":
        fetched = assets.fetch(args.names, args.dest)
        print(f"{len(fetched.downloaded)} files downloaded, {len(fetched.present)} already present and verified, "
              f"in {fetched.folder}")
        return 0
    print(f"reference directory: {reference_dir()}")
    if not args.verify:
        for asset in assets.registry().values():
            print(f"{asset.name:<44} {asset.licence:<28.28} {asset.origin}")
        return 0
    statuses = assets.verify_all(args.prefix)
    for status in statuses:
        print(f"{status.status:<10} {status.asset.name:<44} {status.message}")
    bad = [s for s in statuses if s.status != "ok"]
    print(f"{len(statuses) - len(bad)}/{len(statuses)} reference files verified")
    return 1 if bad else 0


def _check_notebooks(args: argparse.Namespace) -> int:
    from fasutils.tooling.notebook_rules import require_conventions
    from fasutils.tooling.notebook_runner import suite_notebooks

    notebooks = [Path(p) for p in args.notebooks] or suite_notebooks()
    if not notebooks:
        raise FasError("no notebooks found to check (expected notebooks/NN_*.ipynb)")
    require_conventions(notebooks)
    print(f"{len(notebooks)} notebooks follow the conventions")
    return 0


def _run_notebooks(args: argparse.Namespace) -> int:
    from fasutils.core.paths import build_dir
    from fasutils.tooling.notebook_runner import (
        execute_notebooks,
        suite_notebooks,
        write_index,
    )

    notebooks = [Path(p) for p in args.notebooks] or suite_notebooks()
    if not notebooks:
        raise FasError("no notebooks to run (expected notebooks/NN_*.ipynb)")
    out_dir = Path(args.out) if args.out else build_dir() / "notebooks"
    runs = execute_notebooks(notebooks, out_dir, quick=args.quick, html_too=args.html, cell_timeout=args.cell_timeout)
    if args.index:
        print(f"index: {write_index(runs, quick=args.quick)}")
    failed = [run for run in runs if not run.ok]
    for run in failed:
        print(f"FAILED {run.source.name}: {run.error}  (executed copy: {run.output})", file=sys.stderr)
    print(f"{len(runs) - len(failed)}/{len(runs)} notebooks ran {'(QUICK)' if args.quick else '(full)'}")
    return 1 if failed else 0


def _build_data(args: argparse.Namespace) -> int:
    from fasutils.detection.yunet import YuNet
    from fasutils.simulation.dataset import DatasetSpec, build_dataset

    built = build_dataset(DatasetSpec.for_mode(args.quick, seed=args.seed, workers=args.workers), YuNet(),
                          force=args.force)
    print(built.report.summary())
    print(f"faces by source: {built.info['faces_by_source']}; photos or images left out: {len(built.info['skipped'])}")
    print(f"build took {built.info['seconds']:.0f} s "
          f"({built.info['synthesis_images_per_second']:.1f} images/s)")
    print(f"manifest: {built.manifest}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from fasutils.core.paths import build_dir
    from fasutils.detection.pipeline import Pipeline

    pipeline = Pipeline.load(args.model or ["suite"], args.detector, args.threshold, args.min_face)
    result = pipeline.run(args.path, Path(args.out) if args.out else build_dir() / "predict", every=args.every)
    print(result.summary())
    return 1 if result.skipped else 0


def _evaluate(args: argparse.Namespace) -> int:
    from fasutils.evaluation.runner import EvaluationSettings, run_evaluation

    settings = EvaluationSettings(Path(args.data), args.format, tuple(args.model or ["suite"]), args.threshold,
                                  args.rule, args.target, args.bootstrap, args.seed, args.name, args.detector,
                                  args.every, args.level, args.aggregate, args.protocol)
    print(run_evaluation(settings, args.out).summary())
    return 0


def _report(args: argparse.Namespace) -> int:
    from fasutils.evaluation.from_scores import ReportSettings, run_report

    settings = ReportSettings(Path(args.scores), Path(args.dev) if args.dev else None, args.threshold, args.rule,
                              args.target, args.bootstrap, args.seed, args.name, args.level, args.aggregate,
                              Path(args.protocols) if args.protocols else None)
    print(run_report(settings, args.out).summary())
    return 0


def positive_ints(text: str) -> tuple[int, ...]:
    """Parse "1,2" as (1, 2): an argparse type whose error says what it expects."""
    try:
        numbers = tuple(int(n) for n in text.split(","))
    except ValueError:
        numbers = ()
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, such as 1,2, not {text!r}")
    return numbers


def _bench(args: argparse.Namespace) -> int:
    from fasutils.benchmark.suite import run_benchmark, suite_models, summary
    from fasutils.core.paths import build_dir

    out = Path(args.out) if args.out else build_dir() / "benchmark"
    result = run_benchmark(suite_models(out / "models", args.models or ()), threads=args.threads,
                           batches=args.batches, rounds=args.rounds, per_round=args.per_round,
                           memory=not args.no_memory)
    written = result.write(out)
    print(summary(result).round(3).to_string())
    print(f"machine: {result.machine['cpu']}, {result.machine['logical cores']} cores; results: "
          f"{', '.join(p.name for p in written)} in {out}")
    return 0


def _web(args: argparse.Namespace) -> int:
    from fasutils.tooling.web import main_web

    return main_web(args.port, args.out, serve_page=not args.no_serve)


def _ship(args: argparse.Namespace) -> int:
    from fasutils.tooling.ship import ship

    for path in ship(args.source):
        print(f"shipped {path}")
    return 0


def _add_metric_options(command: argparse.ArgumentParser) -> None:
    """How scores become a report: the options ``evaluate`` and ``report`` share."""
    command.add_argument("--threshold", type=float, metavar="T", help="fixed threshold on P(live) (default: --rule)")
    command.add_argument("--rule", choices=RULES, default=RULES[0], help="threshold rule, applied on the development "
                         "split (val/dev) when the data has one, else on the evaluated data itself (the report says "
                         "so)")
    command.add_argument("--target", type=float, default=0.05, help="the rule's target APCER or FPR (default 0.05)")
    command.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="resamples for confidence "
                         "intervals (0: none)")
    command.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    command.add_argument("--name", help="the dataset's name in the report (default: the reader's)")
    command.add_argument("--level", choices=LEVELS, default=LEVELS[0], help="evaluate per video or per frame "
                         "(default auto: per video when the data has videos)")
    command.add_argument("--aggregate", choices=AGGREGATIONS, default=AGGREGATIONS[0], help="a video's score from "
                         "its frames' P(live) (default mean)")


def _add_model_option(command: argparse.ArgumentParser, repeat: str) -> None:
    command.add_argument("--model", action="append", metavar="NAME_OR_PATH", help="'suite' (default), a published "
                         "model's name, 'minivision fused', a .pt from save_for_inference or an exported .onnx; "
                         + repeat)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per task."""
    parser = argparse.ArgumentParser(prog="python -m fasutils", description="FAS Lab helpers")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("env", help="describe this machine and the library versions").set_defaults(func=_env)

    assets = commands.add_parser("assets", help="list the registered reference files, verify them, or fetch them")
    assets.add_argument("--verify", action="store_true", help="check every file's sha256")
    assets.add_argument("--prefix", default="", help="only names starting with this, e.g. widerface/")
    assets.set_defaults(func=_assets)
    fetch = assets.add_subparsers(dest="assets_command").add_parser(
        "fetch", help="download the registered files that are missing (sha256-verified, from each source at its "
        "pinned commit; base URL from $FAS_ASSET_BASE_URL), with each source's licence file")
    fetch.add_argument("names", nargs="*", metavar="NAME", help="only these (default: every registered file)")
    fetch.add_argument("--dest", help="the folder to fill (default: the reference directory)")

    check = commands.add_parser("check-notebooks", help="check notebooks against notebooks/README.md")
    check.add_argument("notebooks", nargs="*", help="default: notebooks/NN_*.ipynb")
    check.set_defaults(func=_check_notebooks)

    data = commands.add_parser("build-data", help="build (or reuse) the live pool and simulated attacks in the cache")
    data.add_argument("--quick", action="store_true", help="the small QUICK build (about 120 faces)")
    data.add_argument("--seed", type=int, default=0, help="random seed of the simulation")
    data.add_argument("--workers", type=int, default=2, help="processes (0: in this process)")
    data.add_argument("--force", action="store_true", help="rebuild even if the same build is cached")
    data.set_defaults(func=_build_data)

    run = commands.add_parser("run-notebooks", help="execute notebooks in order with papermill")
    run.add_argument("notebooks", nargs="*", help="default: notebooks/NN_*.ipynb")
    run.add_argument("--quick", action="store_true", help="QUICK=True: the fast smoke run")
    run.add_argument("--out", help="folder for executed notebooks (default: build/notebooks)")
    run.add_argument("--html", action="store_true", help="also render each executed notebook to HTML")
    run.add_argument("--index", action="store_true", help="write build/index.html linking notebooks and reports")
    run.add_argument("--cell-timeout", type=int, default=None, help="seconds one cell may take (default: no limit)")
    run.set_defaults(func=_run_notebooks)

    predict = commands.add_parser("predict", help="faces and P(live) of an image, a video or a folder of them "
                                  "(exit code 1 when files were skipped)")
    predict.add_argument("path", help="an image, a video, or a folder searched recursively")
    _add_model_option(predict, "repeat for several models (one record per face and model)")
    predict.add_argument("--detector", choices=DETECTORS, default=DETECTORS[0], help="face detector")
    predict.add_argument("--out", help="folder for predictions.json/.csv and drawn pictures (default: build/predict)")
    predict.add_argument("--threshold", type=float, metavar="T",
                         help="P(live) at or above this is live (default: each model's chosen threshold, else 0.5)")
    predict.add_argument("--min-face", type=float, default=0.0, metavar="PX", help="drop faces smaller than this")
    predict.add_argument("--every", type=int, default=1, metavar="N", help="analyse every N-th video frame")
    predict.set_defaults(func=_predict)

    evaluate = commands.add_parser("evaluate", help="PAD metrics (ISO/IEC 30107-3) of models on labelled data, side "
                                   "by side, as a self-contained HTML report and a JSON of every number")
    evaluate.add_argument("--data", required=True, help="a class-folder tree or a manifest .csv (images or videos), "
                          "the CelebA-Spoof folder holding Data/ and metas/, or the OULU-NPU folder holding Protocols/")
    evaluate.add_argument("--format", required=True, choices=FORMATS, help="data layout")
    evaluate.add_argument("--protocol", choices=sorted({p for choices in PROTOCOLS.values() for p in choices}),
                          help="OULU-NPU protocol (default all: every protocol's videos, and the per-protocol table)")
    _add_model_option(evaluate, "repeat to compare models")
    evaluate.add_argument("--out", required=True, help="folder for evaluation_report.html and .json, and scores.csv")
    evaluate.add_argument("--detector", choices=DETECTORS, default=DETECTORS[0], help="face detector for the "
                          "records without a face box (default: predict's)")
    evaluate.add_argument("--every", type=int, default=DEFAULT_EVERY, metavar="N", help="score every N-th video "
                          f"frame (default {DEFAULT_EVERY})")
    _add_metric_options(evaluate)
    evaluate.set_defaults(func=_evaluate)

    report = commands.add_parser("report", help="the same HTML + JSON report from score files alone (scores.csv as "
                                 "evaluate writes it, or any tool's with its columns)")
    report.add_argument("--scores", required=True, help="score file: one row per sample and model (path, label, "
                        "score; model, attack_type, split, frame, non_response, ...)")
    report.add_argument("--dev", help="development scores to choose the thresholds on (default: the --scores rows of "
                        "a val/dev split)")
    report.add_argument("--protocols", metavar="FOLDER", help="the OULU-NPU folder holding Protocols/: add the "
                        "per-protocol ACER table")
    report.add_argument("--out", required=True, help="folder for evaluation_report.html and .json")
    _add_metric_options(report)
    report.set_defaults(func=_report)

    bench = commands.add_parser("bench", help="latency, throughput, memory and size of our models and the references, "
                                "interleaved in one process (results in build/benchmark)")
    bench.add_argument("--models", nargs="+", metavar="PART", help="only models whose name contains one of these "
                       "(case-insensitive), e.g. ours yunet; default: all")
    bench.add_argument("--threads", type=positive_ints, default=(1, 2),
                       help="onnxruntime/ncnn/OpenCV threads, e.g. 1,2")
    bench.add_argument("--batches", type=positive_ints, default=(1, 8, 32), help="classifier batch sizes, e.g. 1,8,32")
    bench.add_argument("--rounds", type=int, default=10, help="interleaved rounds per setting")
    bench.add_argument("--per-round", type=int, default=48, help="images per model per round")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    bench.add_argument("--out", help="folder for the results and our exported models (default: build/benchmark)")
    bench.set_defaults(func=_bench)

    web = commands.add_parser("web", help="build the browser demo (YOLOv7-lite + our liveness model in "
                              "onnxruntime-web) into build/web and serve it on 127.0.0.1 until Ctrl+C")
    web.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0: any free port)")
    web.add_argument("--out", help="folder to build into and serve (default: build/web)")
    web.add_argument("--no-serve", action="store_true", help="only build, then exit")
    web.set_defaults(func=_web)

    ship = commands.add_parser("ship", help="replace the shipped model (models/) with the one a full run of notebook "
                               "03 chose (build/models), with its card")
    ship.add_argument("--source", help="folder of the chosen model (default: build/models)")
    ship.set_defaults(func=_ship)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for a user-fixable problem, printed without traceback)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FasError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

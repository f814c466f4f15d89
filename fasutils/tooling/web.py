"""The browser demo: build ``build/web`` (the page of ``web/``, onnxruntime-web's WASM runtime, our ONNX models) and
serve it on 127.0.0.1 with the headers WebAssembly threads need.

:func:`build_web` copies ``web/index.html`` and ``web/src``, the runtime files of the ``onnxruntime-web`` npm package
pinned in ``web/package.json`` (installed with ``npm ci`` when ``web/node_modules`` lacks it), and exports the
models into ``models/``: YOLOv7-lite-e with the published weights
(:func:`~fasutils.detection.yolov7.export_detector_onnx`), the shipped classifier in FP32
(:func:`~fasutils.export.onnx_export.export_onnx`, its input convention in the ``fas.*`` metadata the page reads)
and in INT8 (recipe "static-qdq": QDQ pairs, which onnxruntime's WASM build runs, unlike WebGL;
onnxruntime issues #14598, #12558). ``models/manifest.json`` carries the detector's and the pipeline's settings
from fasutils' own constants, so the JavaScript matches :class:`~fasutils.detection.detectors.YoloV7Lite` and
:class:`~fasutils.detection.pipeline.Pipeline`.

:func:`serve` answers with ``Cross-Origin-Opener-Policy: same-origin`` and ``Cross-Origin-Embedder-Policy:
require-corp`` (without them the page is not cross-origin isolated and onnxruntime-web silently runs on one thread:
onnxruntime #9681, #19148) and the MIME types ``application/wasm`` and ``text/javascript`` (#19556).
``python -m fasutils web`` runs :func:`main_web`. Introduced in ``05_yolov7_lite_detection.ipynb``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import shutil
import subprocess
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fasutils.core.errors import ToolingError
from fasutils.core.files import atomic_write_text
from fasutils.core.paths import build_dir, project_root, shipped_model

if TYPE_CHECKING:
    from fasutils.detection.pipeline import Pipeline

ORT_PACKAGE = "onnxruntime-web"
# The WASM-only ES module build and the single runtime it loads (SIMD, threads when the page is isolated).
ORT_FILES = ("ort.wasm.min.mjs", "ort.wasm.min.mjs.map", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
INT8_RECIPE = "static-qdq"
CALIBRATION_COUNT = 128
MIME_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
              ".onnx": "application/octet-stream", ".json": "application/json"}
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
                     "Cross-Origin-Resource-Policy": "same-origin", "Cache-Control": "no-cache"}


def web_source() -> Path:
    """The page's sources: ``web/`` in the checkout."""
    return project_root() / "web"


def screenshot_path() -> Path:
    """Where ``tests/test_web.py`` saves its screenshot of the page (shown by notebook 05): ``build/web``."""
    return build_dir() / "web" / "screenshot.png"


def pinned_ort_version(web_dir: Path) -> str:
    """The exact ``onnxruntime-web`` version ``web/package.json`` pins."""
    return json.loads((web_dir / "package.json").read_text())["dependencies"][ORT_PACKAGE]


def ort_runtime(web_dir: Path | None = None) -> Path:
    """``web/node_modules/onnxruntime-web/dist``, installed from the lock file with ``npm ci`` if it is missing or
    not the pinned version; :class:`ToolingError` when npm is absent or the install fails."""
    web_dir = web_dir or web_source()
    package = web_dir / "node_modules" / ORT_PACKAGE
    wanted = pinned_ort_version(web_dir)

    def installed() -> str | None:
        manifest = package / "package.json"
        return json.loads(manifest.read_text())["version"] if manifest.is_file() else None

    if installed() != wanted or not all((package / "dist" / f).is_file() for f in ORT_FILES):
        npm = shutil.which("npm")
        if npm is None:
            raise ToolingError(f"{ORT_PACKAGE} {wanted} is not installed in {web_dir / 'node_modules'} and npm is "
                               "not on PATH: install Node.js and npm (Debian: apt-get install npm), then run `npm ci` "
                               f"in {web_dir}")
        print(f"installing {ORT_PACKAGE} {wanted} with npm ci in {web_dir} ...", flush=True)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web_dir, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0 or installed() != wanted:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise ToolingError(f"`npm ci` in {web_dir} did not install {ORT_PACKAGE} {wanted} "
                               f"(exit {done.returncode}): {tail}")
    return package / "dist"


def _sha256(*files: Path) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def default_calibration() -> np.ndarray:
    """INT8 calibration inputs: 128 crops of the training split of notebook 00's QUICK build (built if missing),
    the data ``python -m fasutils bench`` calibrates its INT8 models on."""
    print("INT8 calibration: crops of notebook 00's QUICK data (built into the cache first if missing: a few minutes, "
          "once)", flush=True)
    from fasutils.benchmark.suite import quick_training_records
    from fasutils.export.quantization import calibration_inputs
    from fasutils.training.checkpoints import load_for_inference

    return calibration_inputs(quick_training_records(), load_for_inference(shipped_model())[1], count=CALIBRATION_COUNT)


def export_models(models_dir: Path, calibration: np.ndarray | None = None, force: bool = False) -> dict[str, Path]:
    """The detector, FP32 and INT8 classifier ONNX files in ``models_dir``; re-exported only when the weights, the
    calibration data or the recipe changed (``models/build.json`` records them) or ``force``."""
    from fasutils.detection.yolov7 import export_detector_onnx, load_published, published_files
    from fasutils.export.onnx_export import export_onnx
    from fasutils.export.quantization import quantize
    from fasutils.training.checkpoints import load_for_inference

    files = {"detector": models_dir / "detector.onnx", "fp32": models_dir / "classifier-fp32.onnx",
             "int8": models_dir / "classifier-int8.onnx"}
    shipped = shipped_model()
    calibration_id = "quick-train-split" if calibration is None else hashlib.sha256(
        np.ascontiguousarray(calibration, dtype=np.float32).tobytes()).hexdigest()
    stamp = {"detector": _sha256(*published_files()), "classifier": _sha256(shipped, shipped.with_suffix(".json")),
             "int8_recipe": INT8_RECIPE, "calibration": calibration_id}
    record = models_dir / "build.json"
    previous = json.loads(record.read_text()) if record.is_file() and not force else {}
    models_dir.mkdir(parents=True, exist_ok=True)
    if previous.get("detector") != stamp["detector"] or not files["detector"].is_file():
        print(f"exporting YOLOv7-lite-e to {files['detector']} ...", flush=True)
        export_detector_onnx(load_published(), files["detector"])
    if previous.get("classifier") != stamp["classifier"] or not files["fp32"].is_file():
        print(f"exporting {shipped.name} to {files['fp32']} ...", flush=True)
        model, convention = load_for_inference(shipped)
        export_onnx(model, files["fp32"], convention)
        previous = {}  # a new FP32 file needs a new INT8 one
    if previous != stamp or not files["int8"].is_file():
        inputs = default_calibration() if calibration is None else calibration
        print(f"quantizing it to {files['int8']} (recipe {INT8_RECIPE}) ...", flush=True)
        quantize(files["fp32"], files["int8"], INT8_RECIPE, inputs)
    atomic_write_text(record, json.dumps(stamp, indent=2))
    return files


def manifest(ort_version: str) -> dict:
    """What the page needs besides the ONNX files: the detector's and the pipeline's settings (their defaults) and the
    shipped model's decision threshold (its card's)."""
    from fasutils.detection.boxes import PAD_VALUE
    from fasutils.detection.detectors import YoloV7Lite
    from fasutils.detection.pipeline import Pipeline
    from fasutils.detection.yolov7 import INPUT_NAME, OUTPUT_NAMES
    from fasutils.detection.yolov7_config import CONFIGS
    from fasutils.training.checkpoints import decision_threshold

    detector = {name: p.default for name, p in inspect.signature(YoloV7Lite).parameters.items()
                if name in {"input_size", "score_threshold", "nms_threshold", "config"}}
    config = CONFIGS[detector["config"]]
    pipeline = {f.name: f.default for f in dataclasses.fields(Pipeline)}
    return {"detector": {"file": "models/detector.onnx", "input": INPUT_NAME, "outputs": list(OUTPUT_NAMES),
                         **detector, "input_size": list(detector["input_size"]), "pad_value": PAD_VALUE,
                         "anchors": config.anchors, "strides": config.strides, "num_keypoints": config.num_keypoints,
                         "num_classes": config.num_classes, "values_per_anchor": config.values_per_anchor},
            "classifiers": {"fp32": {"file": "models/classifier-fp32.onnx", "label": "suite FP32"},
                            "int8": {"file": "models/classifier-int8.onnx", "label": f"suite INT8 ({INT8_RECIPE})"}},
            "default_classifier": "fp32", "decision_threshold": decision_threshold(shipped_model()),
            "min_face": pipeline["min_face"], "onnxruntime_web": ort_version}


def build_web(out_dir: str | Path | None = None, *, calibration: np.ndarray | None = None,
              force: bool = False) -> Path:
    """Build the demo into ``out_dir`` (default ``build/web``) and return that folder.

    ``calibration``: INT8 calibration inputs (N, 3, 80, 80) as the shipped model expects them; default
    :func:`default_calibration`. ``force`` re-exports the models even when they are up to date.
    """
    out = Path(out_dir) if out_dir is not None else build_dir() / "web"
    source = web_source()
    dist = ort_runtime(source)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "index.html", out / "index.html")
    shutil.copytree(source / "src", out / "src", dirs_exist_ok=True)
    (out / "ort").mkdir(exist_ok=True)
    for name in ORT_FILES:
        shutil.copy2(dist / name, out / "ort" / name)
    export_models(out / "models", calibration, force)
    atomic_write_text(out / "models" / "manifest.json", json.dumps(manifest(pinned_ort_version(source)), indent=2))
    return out


def onnx_pipeline(folder: str | Path, precision: str = "fp32", threads: int | None = None) -> Pipeline:
    """The Python pipeline on a built demo's ONNX files (the detector and the ``precision`` classifier, "fp32" or
    "int8"), in onnxruntime with ``threads`` threads: the page's Python twin, for parity and speed comparisons."""
    from fasutils.detection.detectors import YoloV7Lite
    from fasutils.detection.pipeline import Pipeline
    from fasutils.export.classifiers import onnx_classifier

    folder = Path(folder)
    files = json.loads((folder / "models" / "manifest.json").read_text())
    if precision not in files["classifiers"]:
        raise ToolingError(f"precision must be one of {', '.join(files['classifiers'])}, not {precision!r}")
    detector = YoloV7Lite(folder / files["detector"]["file"], threads=threads)
    return Pipeline(detector, [onnx_classifier(folder / files["classifiers"][precision]["file"], threads)],
                    progress=False)


class _Handler(SimpleHTTPRequestHandler):
    """Static files with cross-origin isolation headers and the MIME types WASM and ES modules need."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet for answered requests; failures still reach stderr through ``log_error``."""


def serve(out_dir: str | Path, port: int = 8000, *, announce: bool = True) -> ThreadingHTTPServer:
    """A server of ``out_dir`` on 127.0.0.1:``port`` (0: a free port), bound but not yet serving: call its
    ``serve_forever()`` (in a thread, for tests) and ``shutdown()``. Prints what it serves unless ``announce`` is
    false. :class:`ToolingError` if the folder is not a built demo or the port is taken."""
    out = Path(out_dir)
    if not (out / "index.html").is_file() or not (out / "models" / "manifest.json").is_file():
        raise ToolingError(f"{out} holds no built demo (index.html, models/manifest.json): run "
                           "`python -m fasutils web` or fasutils.tooling.web.build_web first")
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_Handler, directory=str(out)))
    except OSError as error:
        raise ToolingError(f"cannot listen on 127.0.0.1:{port} ({error.strerror}): choose another port with "
                           "--port") from None
    server.daemon_threads = True
    if announce:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        models = ", ".join(f"{p.name} ({p.stat().st_size / 1e6:.1f} MB)"
                           for p in sorted((out / "models").glob("*.onnx")))
        print(f"serving {out.resolve()} at {url}\n  models: {models}\n  onnxruntime-web "
              f"{json.loads((out / 'models' / 'manifest.json').read_text())['onnxruntime_web']} (WASM), "
              "COOP same-origin + COEP require-corp (WASM threads on)\n  open it in a browser (the camera works on "
              f"127.0.0.1); {url}?image=URL analyses one image; Ctrl+C stops", flush=True)
    return server


def main_web(port: int = 8000, out: str | Path | None = None, serve_page: bool = True) -> int:
    """``python -m fasutils web [--port N] [--out DIR] [--no-serve]``: build, then serve until Ctrl+C."""
    folder = build_web(out)
    if not serve_page:
        print(f"built {folder.resolve()}; serve it with `python -m fasutils web --out {folder}`")
        return 0
    server = serve(folder, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
    return 0

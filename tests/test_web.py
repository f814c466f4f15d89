"""The browser demo in a real browser: Debian's headless Chromium driven by Playwright, against the page built by
fasutils.tooling.web and served on loopback. Parity with the Python pipeline on minivision's samples, the fake
camera, bad input, a screenshot for the notebook, and a printed (never asserted) FPS benchmark."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from fasutils.core import assets
from fasutils.core.images import read_image
from fasutils.core.paths import shipped_model
from fasutils.data.faces import Face
from fasutils.data.records import Record
from fasutils.detection.boxes import match_faces
from fasutils.tooling import web
from tests.conftest import from_reference

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.reference, pytest.mark.skipif(
    not CHROMIUM.is_file(), reason="Debian's Chromium is not installed (/usr/bin/chromium): `apt-get install -y "
    "chromium` (.ci/run does it) to run the browser tests")]

SAMPLES = ("minivision/sample-live-T1", "minivision/sample-print-F1", "minivision/sample-replay-F2")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAX_P_LIVE_DIFFERENCE, MIN_IOU = 0.02, 0.9
FPS_ROUNDS, FPS_FRAMES = 5, 10


def _frame_640x480(image_rgb: np.ndarray) -> np.ndarray:
    """The photo fitted into a 640x480 webcam frame (mid-grey around it)."""
    scale = min(480 / image_rgb.shape[0], 640 / image_rgb.shape[1])
    w, h = round(image_rgb.shape[1] * scale), round(image_rgb.shape[0] * scale)
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[(480 - h) // 2:(480 - h) // 2 + h, (640 - w) // 2:(640 - w) // 2 + w] = cv2.resize(image_rgb, (w, h))
    return frame


def _write_y4m(path: Path, frame_rgb: np.ndarray, frames: int = 2) -> Path:
    """A YUV4MPEG2 file for Chromium's fake camera: header, then per frame ``FRAME`` + the I420 planes."""
    height, width = frame_rgb.shape[:2]
    planes = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2YUV_I420).tobytes()
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode()
                     + b"".join(b"FRAME\n" + planes for _ in range(frames)))
    return path


def _calibration(faces: dict[str, list[Face]]) -> np.ndarray:
    """INT8 calibration crops of the samples' faces, shifted and scaled a little (fast, unlike the QUICK build)."""
    from fasutils.export.quantization import calibration_inputs
    from fasutils.training.checkpoints import load_for_inference

    convention = load_for_inference(shipped_model())[1]
    records = []
    for name, found in faces.items():
        for face in found:
            x, y, w, h = face.box
            for dx, dy, s in [(0, 0, 1), (0.05, 0, 0.95), (-0.05, 0.05, 1.05), (0, -0.05, 1.1), (0.03, 0.03, 0.9)]:
                records.append(Record(assets.path(name), False, "live", box=(x + dx * w, y + dy * h, w * s, h * s)))
    return calibration_inputs(records, convention, count=len(records))


@pytest.fixture(scope="module")
def reference() -> dict:
    """The Python pipeline's faces (YOLOv7-lite + the suite's model) on each sample, and the photos."""
    from fasutils.detection.pipeline import Pipeline

    photos = from_reference(lambda: {name: read_image(assets.path(name)) for name in SAMPLES})
    pipeline = Pipeline.load(["suite"], progress=False)
    return {"photos": photos, "pipeline": pipeline,
            "records": {name: pipeline.predict_image(image) for name, image in photos.items()},
            "faces": {name: pipeline.detector.detect(image) for name, image in photos.items()}}


@pytest.fixture(scope="module")
def site(reference, tmp_path_factory) -> Path:
    """The built demo, with the samples, a 640x480 frame, a corrupt image and a damaged model beside it."""
    folder = web.build_web(tmp_path_factory.mktemp("web") / "site",
                           calibration=_calibration(reference["faces"]))
    for name in SAMPLES:
        shutil.copy(assets.path(name), folder / f"{name.split('/')[1]}.jpg")
    frame = _frame_640x480(reference["photos"]["minivision/sample-live-T1"])
    cv2.imwrite(str(folder / "frame.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    (folder / "models" / "damaged.onnx").write_bytes((folder / "models" / "classifier-fp32.onnx").read_bytes()[:5000])
    return folder


@pytest.fixture(scope="module")
def url(site) -> Iterator[str]:
    server = web.serve(site, 0, announce=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(site, reference):
    from playwright.sync_api import sync_playwright

    frame = cv2.cvtColor(cv2.imread(str(site / "frame.png")), cv2.COLOR_BGR2RGB)
    y4m = _write_y4m(site.parent / "camera.y4m", frame)
    with sync_playwright() as playwright:  # a fresh temporary profile per launch
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            *FLAGS, "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}"])
        yield chromium
        chromium.close()


def _open(browser, address: str, permissions: tuple[str, ...] = ()):
    """A new page at ``address`` with its console errors and uncaught exceptions collected in ``page.problems``."""
    context = browser.new_context(permissions=list(permissions))
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.goto(address)
    return page


def _result(browser, url: str, query: str) -> dict:
    page = _open(browser, f"{url}?{query}")
    page.wait_for_function("document.body.dataset.result || document.body.dataset.error", timeout=120_000)
    error = page.evaluate("document.body.dataset.error")
    assert error is None, error
    result = json.loads(page.evaluate("document.body.dataset.result"))
    page.context.close()
    return result


def _as_faces(result: dict) -> list[Face]:
    return [Face(tuple(f["box"]), np.asarray(f["landmarks"]), f["score"]) for f in result["faces"]]


def _compare(expected_records, result: dict) -> list[tuple[float, float, float]]:
    """(IoU, |ΔP(live)|, max landmark distance) of each face; asserts the same faces and decisions."""
    expected = [Face(r.box, np.asarray(r.landmarks), r.detector_score) for r in expected_records]
    found = _as_faces(result)
    assert len(found) == len(expected)
    pairs = match_faces(expected, found, MIN_IOU)
    assert len(pairs) == len(expected)
    rows = []
    for i, j, iou in pairs:
        ours, theirs = expected_records[i], result["faces"][j]
        assert theirs["decision"] == ours.decision
        rows.append((iou, abs(theirs["p_live"] - ours.p_live),
                     float(np.abs(np.asarray(theirs["landmarks"]) - np.asarray(ours.landmarks)).max())))
    return rows


def test_the_samples_give_the_python_pipelines_faces_and_p_live(browser, url, reference, site):
    int8 = web.onnx_pipeline(site, "int8")
    for name in SAMPLES:
        image = f"image={name.split('/')[1]}.jpg"
        fp32 = _compare(reference["records"][name], _result(browser, url, image))
        quantized = _compare(int8.predict_image(reference["photos"][name]),
                             _result(browser, url, f"{image}&model=int8"))
        for precision, rows in (("FP32", fp32), ("INT8", quantized)):
            for iou, difference, landmarks in rows:
                print(f"{name} {precision}: IoU {iou:.4f}, |ΔP(live)| {difference:.2e}, landmarks within "
                      f"{landmarks:.3f} px")
                assert iou >= MIN_IOU and difference <= MAX_P_LIVE_DIFFERENCE


def test_a_screenshot_of_the_live_sample_is_saved_for_the_notebook(browser, url):
    page = _open(browser, f"{url}?image=sample-live-T1.jpg")
    page.wait_for_function("document.body.dataset.result", timeout=120_000)
    target = web.screenshot_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert cv2.imread(str(target)).shape[0] > 400
    assert not page.problems
    page.context.close()


def test_the_fake_camera_is_analysed_continuously_with_a_smoothed_decision(browser, url, reference, site):
    page = _open(browser, url, permissions=("camera",))
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=120_000)
    page.click("#camera")
    page.wait_for_function("fasDemo.camera.frames >= 8 && fasDemo.camera.fps > 0", timeout=60_000)
    camera = page.evaluate("({frames: fasDemo.camera.frames, fps: fasDemo.camera.fps, last: fasDemo.camera.last})")
    assert page.evaluate("document.body.dataset.camera") == "running"
    assert float(page.text_content("#fps")) > 0 and "EMA" in page.text_content("#rule")
    frame = cv2.cvtColor(cv2.imread(str(site / "frame.png")), cv2.COLOR_BGR2RGB)
    expected = reference["pipeline"].detector.detect(frame)
    faces = camera["last"]["faces"]
    assert len(faces) == len(expected) == 1
    assert match_faces(expected, _as_faces(camera["last"]), 0.8)  # the camera's YUV round trip moves pixels a little
    assert 0 <= faces[0]["smoothed"] <= 1 and faces[0]["smoothed_decision"] in {"live", "spoof"}
    page.click("#stop")
    assert page.evaluate("document.body.dataset.camera") == "stopped"
    assert not page.problems
    page.context.close()


def test_a_dropped_file_that_is_not_an_image_gets_a_message_not_a_console_error(browser, url):
    page = _open(browser, url)
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=120_000)
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["just some notes"], "notes.txt", {type: "text/plain"}));
        document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true,
                                                                             cancelable: true}));
    }""")
    page.wait_for_selector("#message:not([hidden])")
    assert "notes.txt" in page.text_content("#message") and "not an image" in page.text_content("#message")
    assert not page.problems
    page.context.close()


@pytest.mark.parametrize(("query", "permissions", "says"), [
    ("?image=corrupt.jpg", (), "could not be decoded"),
    ("?classifier=models/missing.onnx", (), "HTTP 404"),
    ("?classifier=models/damaged.onnx", (), "could not load the liveness model"),
    ("", (), "Camera permission was denied"),
])
def test_bad_input_is_explained_on_the_page(browser, url, query, permissions, says):
    page = _open(browser, f"{url}{query}", permissions)
    page.wait_for_function("document.body.dataset.ready !== undefined", timeout=120_000)
    if not query:
        page.click("#camera")
    page.wait_for_selector("#message:not([hidden])")
    assert says in page.text_content("#message")
    page.context.close()


def test_a_browser_without_a_camera_says_so(browser, url):
    chromium = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
    try:
        page = _open(chromium, url, permissions=("camera",))
        page.wait_for_function("document.body.dataset.ready === 'true'", timeout=120_000)
        page.click("#camera")
        page.wait_for_selector("#message:not([hidden])")
        assert "No camera was found" in page.text_content("#message")
        assert page.evaluate("document.body.dataset.camera") == "error"
    finally:
        chromium.close()


def test_a_page_opened_from_a_file_says_to_serve_it(browser, site):
    page = _open(browser, (site / "index.html").as_uri())
    page.wait_for_selector("#message:not([hidden])")
    assert "python -m fasutils web" in page.text_content("#message")
    page.context.close()


def _python_ms(pipeline, frame: np.ndarray, frames: int) -> float:
    """Median milliseconds of detect + classify of ``frame`` by a Python pipeline, after one warm-up call."""
    pipeline.predict_image(frame)
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        pipeline.predict_image(frame)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def test_fps_in_chromium_and_in_python_onnxruntime(browser, url, site):
    """Printed, not asserted: detect + classify on one face at 640x480, WASM 1 and 2 threads, FP32 and INT8, against
    the same ONNX files in Python onnxruntime; both measured in alternating rounds, so they share the machine's load."""
    frame = cv2.cvtColor(cv2.imread(str(site / "frame.png")), cv2.COLOR_BGR2RGB)
    rows = []
    for threads in (1, 2):
        page = _open(browser, f"{url}?threads={threads}")
        page.wait_for_function("document.body.dataset.ready === 'true'", timeout=120_000)
        for precision in ("fp32", "int8"):
            page.evaluate(f"fasDemo.setModel('{precision}')")
            python = web.onnx_pipeline(site, precision, threads)
            rounds = [(page.evaluate(f"fasDemo.benchmark('frame.png', {FPS_FRAMES})"),
                       _python_ms(python, frame, FPS_FRAMES)) for _ in range(FPS_ROUNDS)]
            assert all(b["threads"] == threads and b["faces"] == 1 for b, _ in rounds)
            median = {key: float(np.median([b[key] for b, _ in rounds])) for key in ("ms", "detect_ms", "classify_ms")}
            rows.append((threads, precision.upper(), median, float(np.median([ms for _, ms in rounds]))))
        page.context.close()
    print(f"\nFPS, detect + classify, one face at 640x480: medians of {FPS_ROUNDS} alternating rounds of {FPS_FRAMES} "
          "frames each")
    print(f"{'threads':>7} {'model':>5} {'Chromium':>9} {'detect ms':>9} {'classify ms':>11} {'Python ORT':>10} "
          f"{'ratio':>6}")
    for threads, precision, browser_ms, python_ms in rows:
        print(f"{threads:>7} {precision:>5} {1000 / browser_ms['ms']:>9.1f} {browser_ms['detect_ms']:>9.1f} "
              f"{browser_ms['classify_ms']:>11.1f} {1000 / python_ms:>10.1f} {python_ms / browser_ms['ms']:>6.2f}")

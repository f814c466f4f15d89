// The page: loads the models named by models/manifest.json into onnxruntime-web (WASM), wires the sources (webcam,
// dropped or chosen photo, ?image=URL), draws the results and exposes window.fasDemo for embedding and tests.

import * as ort from "../ort/ort.wasm.min.mjs";
import { detectFaces } from "./detector.js";
import { liveProbabilities, prepareFace, readConvention } from "./classifier.js";
import { rgbaToRgb } from "./imaging.js";
import { EmaSmoother } from "./smoothing.js";
import { drawResult } from "./draw.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const ui = {
  message: $("message"), status: $("status"), stage: $("stage"), precision: $("precision"), threads: $("threads"),
  camera: $("camera"), stop: $("stop"), file: $("file"), drop: $("drop"), faces: $("faces"), detectMs: $("detect-ms"),
  classifyMs: $("classify-ms"), fps: $("fps"), rule: $("rule"), video: $("video"), convention: $("convention"),
};

/** A problem the user can act on: shown on the page, never thrown at the console. */
class PageError extends Error {}

function showMessage(text, kind = "error") {
  ui.message.textContent = text;
  ui.message.className = kind;
  ui.message.hidden = !text;
  if (kind === "error") document.body.dataset.error = text;
}

const clearMessage = () => { showMessage("", "info"); delete document.body.dataset.error; };

const state = { manifest: null, detector: null, classifiers: {}, precision: null, threshold: 0.5 };

// ---- models ---------------------------------------------------------------------------------------------------

function configureRuntime() {
  const isolated = globalThis.crossOriginIsolated === true;
  const wanted = Number(params.get("threads") || (isolated ? Math.min(2, navigator.hardwareConcurrency || 1) : 1));
  const threads = isolated ? Math.max(1, wanted) : 1;
  if (wanted > 1 && !isolated) {
    showMessage(`WASM threads need a cross-origin isolated page (COOP/COEP headers), which this server does not send; `
      + "running on 1 thread. Serve the page with `python -m fasutils web`.", "warning");
  }
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = new URL("../ort/", import.meta.url).href;
  ort.env.logLevel = "error";
  return threads;
}

async function fetchBytes(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new PageError(`Could not download ${what} (${url}): ${error.message}. Is the server still running?`);
  }
  if (!response.ok) {
    throw new PageError(`Could not load ${what} (${url}): HTTP ${response.status}. Rebuild and serve the page with `
      + "`python -m fasutils web`, which exports the models into build/web/models.");
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function createSession(bytes, what, url) {
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  } catch (error) {
    throw new PageError(`onnxruntime-web could not load ${what} (${url}): ${error.message || error}. The file may be `
      + "damaged or not an ONNX model: rebuild it with `python -m fasutils web`.");
  }
}

async function loadDetector() {
  const url = params.get("detector") || state.manifest.detector.file;
  state.detector = await createSession(await fetchBytes(url, "the face detector"), "the face detector", url);
  await warmUp(state.detector, state.manifest.detector.input_size);
}

/** One run on zeros, so the first analysed picture is timed without the runtime's one-time set-up. */
async function warmUp(session, [h, w]) {
  await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", new Float32Array(3 * h * w), [1, 3, h, w]) });
}

async function loadClassifier(key) {
  if (!state.classifiers[key]) {
    const entry = state.manifest.classifiers[key];
    if (!entry) throw new PageError(`Unknown model "${key}": choose one of ${Object.keys(state.manifest.classifiers)}`);
    const url = params.get("classifier") || entry.file;
    const bytes = await fetchBytes(url, `the ${entry.label} liveness model`);
    const session = await createSession(bytes, "the liveness model", url); // first: it rejects damaged files
    let convention;
    try {
      convention = readConvention(bytes);
    } catch (error) {
      throw new PageError(`The liveness model ${url} cannot be used: ${error.message}.`);
    }
    await warmUp(session, convention.inputSize);
    state.classifiers[key] = { session, convention, ...entry };
  }
  state.precision = key;
  ui.precision.value = key;
  const c = state.classifiers[key].convention;
  ui.convention.textContent = `${c.name}: crop ${c.crop.name} (×${c.crop.scale}, ${c.crop.box_rule}), `
    + `${c.colorOrder.toUpperCase()} × ${Number(c.scale.toPrecision(6))}, ${c.inputSize.join("×")}, `
    + `live = class ${c.liveIndex} of [${c.classes.join(", ")}] (read from the ONNX metadata)`;
  return state.classifiers[key];
}

async function loadModels() {
  const manifestBytes = await fetchBytes("models/manifest.json", "the model manifest");
  state.manifest = JSON.parse(new TextDecoder().decode(manifestBytes));
  state.threshold = state.manifest.decision_threshold;
  camera.smoother.threshold = state.threshold;
  ui.rule.textContent = camera.smoother.rule;
  for (const [key, entry] of Object.entries(state.manifest.classifiers)) ui.precision.add(new Option(entry.label, key));
  await loadDetector();
  await loadClassifier(params.get("model") || state.manifest.default_classifier);
}

// ---- images -----------------------------------------------------------------------------------------------------

const work = document.createElement("canvas");
const workContext = work.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });

/** Pixels of any drawable, read back unscaled (no resampling, no colour conversion). */
function pixelsOf(drawable, width, height) {
  work.width = width;
  work.height = height;
  workContext.clearRect(0, 0, width, height);
  workContext.drawImage(drawable, 0, 0);
  return workContext.getImageData(0, 0, width, height, { colorSpace: "srgb" });
}

async function decodeBlob(blob, name) {
  try {
    // No colour management (as OpenCV), EXIF orientation applied (as fasutils.core.images.read_image).
    return await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new PageError(`${name} could not be decoded as an image (${blob.type || "unknown type"}, ${blob.size} `
      + "bytes): it is damaged or not a JPEG, PNG, WebP, GIF or BMP file. Try another photo.");
  }
}

/** {rgb, imageData} of a URL, Blob/File, ImageBitmap, <img>, <canvas>, <video>, ImageData or {data, width, height}. */
async function toPixels(source) {
  if (typeof source === "string" || source instanceof URL) {
    const bytes = await fetchBytes(String(source), "the image");
    const type = bytes[0] === 0xff && bytes[1] === 0xd8 ? "image/jpeg" : "";
    return toPixels(await decodeBlob(new Blob([bytes], { type }), String(source)));
  }
  if (source instanceof Blob) {
    if (source.type && !source.type.startsWith("image/")) {
      throw new PageError(`“${source.name || "the dropped item"}” is not an image (${source.type}). Drop or choose a `
        + "photo (JPEG, PNG, WebP).");
    }
    return toPixels(await decodeBlob(source, `“${source.name || "the dropped file"}”`));
  }
  if (source instanceof ImageData) {
    return { rgb: rgbaToRgb(source.data, source.width, source.height), imageData: source };
  }
  if (source && source.data && source.width && source.data.length === source.width * source.height * 3) {
    return { rgb: source, imageData: null };
  }
  const width = source.videoWidth || source.naturalWidth || source.width;
  const height = source.videoHeight || source.naturalHeight || source.height;
  if (!width || !height) throw new PageError("The source has no pixels yet (an image not loaded, a video not started).");
  const imageData = pixelsOf(source, width, height);
  return { rgb: rgbaToRgb(imageData.data, width, height), imageData };
}

// ---- analysis ---------------------------------------------------------------------------------------------------

async function runDetector(tensor, [h, w]) {
  const session = state.detector;
  const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", tensor, [1, 3, h, w]) });
  return state.manifest.detector.outputs.map((name) => outputs[name]);
}

async function classify(rgb, faces) {
  if (!faces.length) return [];
  const { session, convention } = state.classifiers[state.precision];
  const [h, w] = convention.inputSize;
  const batch = new Float32Array(faces.length * 3 * h * w);
  faces.forEach((face, i) => prepareFace(rgb, face.box, convention, batch, i * 3 * h * w));
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", batch, [faces.length, 3, h, w]) };
  const logits = (await session.run(feeds))[session.outputNames[0]];
  return liveProbabilities(logits.data, convention.classes.length, convention.liveIndex);
}

async function analyzeRgb(rgb) {
  const t0 = performance.now();
  const found = await detectFaces(rgb, { ...state.manifest.detector, min_face: state.manifest.min_face }, runDetector);
  const t1 = performance.now();
  const p = await classify(rgb, found);
  const t2 = performance.now();
  const faces = found.map((face, i) => ({
    box: face.box, landmarks: face.landmarks, score: face.score, p_live: p[i],
    decision: p[i] >= state.threshold ? "live" : "spoof",
  }));
  return { faces, ms: { detect: t1 - t0, classify: t2 - t1 }, model: state.precision, size: [rgb.width, rgb.height] };
}

function showResult(imageData, result, smoothed = false) {
  if (imageData) drawResult(ui.stage, imageData, result.faces, smoothed);
  ui.detectMs.textContent = result.ms.detect.toFixed(1);
  ui.classifyMs.textContent = result.ms.classify.toFixed(1);
  ui.faces.replaceChildren(...result.faces.map((face, i) => {
    const row = document.createElement("li");
    row.textContent = smoothed
      ? `face ${i + 1}: P(live) ${face.p_live.toFixed(3)} this frame, EMA ${face.smoothed.toFixed(3)} → ${face.smoothed_decision}`
      : `face ${i + 1}: P(live) ${face.p_live.toFixed(3)} → ${face.decision} (live if ≥ ${state.threshold})`;
    row.className = smoothed ? face.smoothed_decision : face.decision;
    return row;
  }));
  if (!result.faces.length) ui.faces.replaceChildren(Object.assign(document.createElement("li"), { textContent: "no face found" }));
}

/** The public API: faces and P(live) of one source; drawn on the page unless {draw: false}. */
async function analyze(source, { draw = true } = {}) {
  if (!state.detector) throw new PageError("The models are not loaded (see the message on the page).");
  const { rgb, imageData } = await toPixels(source);
  const result = await analyzeRgb(rgb);
  if (draw) showResult(imageData, result);
  return result;
}

/** Frames per second of detect + classify on one image (decoded once), median over `frames` after a warm-up. */
async function benchmark(source, frames = 30, warmup = 3) {
  const { rgb } = await toPixels(source);
  for (let i = 0; i < warmup; i++) await analyzeRgb(rgb);
  const times = [], detect = [], classify = [];
  let faces = 0;
  for (let i = 0; i < frames; i++) {
    const start = performance.now();
    const result = await analyzeRgb(rgb);
    times.push(performance.now() - start);
    detect.push(result.ms.detect);
    classify.push(result.ms.classify);
    faces = result.faces.length;
  }
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const ms = median(times);
  return { fps: 1000 / ms, ms, detect_ms: median(detect), classify_ms: median(classify), faces, frames,
    threads: ort.env.wasm.numThreads, model: state.precision, size: [rgb.width, rgb.height] };
}

// ---- sources ----------------------------------------------------------------------------------------------------

const camera = { stream: null, running: false, frames: 0, fps: 0, last: null, smoother: new EmaSmoother() };

function cameraProblem(error) {
  const advice = {
    NotAllowedError: "Camera permission was denied. Allow the camera for this page (the camera icon in the address "
      + "bar), then press “Start camera” again, or analyse a photo instead.",
    SecurityError: "The browser blocks the camera on this page. Open it from http://127.0.0.1 or https.",
    NotFoundError: "No camera was found. Connect one and press “Start camera”, or drop a photo instead.",
    OverconstrainedError: "The camera cannot deliver video. Try another camera, or drop a photo instead.",
    NotReadableError: "The camera is in use by another program (or failed). Close it there and try again.",
  };
  return advice[error.name] || `The camera could not be started (${error.name}: ${error.message}).`;
}

async function startCamera() {
  if (camera.running) return;
  if (!navigator.mediaDevices?.getUserMedia) {
    showMessage("This page cannot reach a camera: browsers allow it only on secure pages. Open the demo at "
      + "http://127.0.0.1 (as `python -m fasutils web` prints) or over https.");
    document.body.dataset.camera = "error";
    return;
  }
  try {
    camera.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false });
  } catch (error) {
    showMessage(cameraProblem(error));
    document.body.dataset.camera = "error";
    return;
  }
  clearMessage();
  ui.video.srcObject = camera.stream;
  await ui.video.play();
  Object.assign(camera, { running: true, frames: 0, fps: 0 });
  camera.smoother.reset();
  document.body.dataset.camera = "running";
  ui.stop.disabled = false;
  let windowStart = performance.now(), windowFrames = 0;
  while (camera.running) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    if (!camera.running || ui.video.readyState < 2) continue;
    try {
      const imageData = pixelsOf(ui.video, ui.video.videoWidth, ui.video.videoHeight);
      const result = await analyzeRgb(rgbaToRgb(imageData.data, imageData.width, imageData.height));
      camera.smoother.update(result.faces);
      camera.last = result;
      camera.frames += 1;
      windowFrames += 1;
      const now = performance.now();
      if (now - windowStart >= 1000) {
        camera.fps = (1000 * windowFrames) / (now - windowStart);
        windowStart = now;
        windowFrames = 0;
        ui.fps.textContent = camera.fps.toFixed(1);
      }
      showResult(imageData, result, true);
    } catch (error) {
      stopCamera();
      showMessage(error instanceof PageError ? error.message : `Analysis stopped: ${error.message}`);
    }
  }
}

function stopCamera() {
  camera.running = false;
  camera.stream?.getTracks().forEach((track) => track.stop());
  camera.stream = null;
  document.body.dataset.camera = "stopped";
  ui.stop.disabled = true;
}

async function analyzeUserFile(file) {
  stopCamera();
  try {
    clearMessage();
    await analyze(file);
  } catch (error) {
    showMessage(error instanceof PageError ? error.message : `The photo could not be analysed: ${error.message}`);
  }
}

function wireControls() {
  ui.camera.addEventListener("click", () => startCamera());
  ui.stop.addEventListener("click", stopCamera);
  ui.file.addEventListener("change", () => ui.file.files[0] && analyzeUserFile(ui.file.files[0]));
  ui.precision.addEventListener("change", async () => {
    try { await loadClassifier(ui.precision.value); } catch (error) { showMessage(error.message); }
  });
  ui.threads.value = String(ort.env.wasm.numThreads);
  ui.threads.addEventListener("change", () => { // WASM threads are fixed when the runtime starts: reload
    params.set("threads", ui.threads.value);
    location.search = params.toString();
  });
  for (const event of ["dragenter", "dragover"]) {
    ui.drop.addEventListener(event, (e) => { e.preventDefault(); ui.drop.classList.add("over"); });
  }
  ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("over"));
  ui.drop.addEventListener("drop", (e) => {
    e.preventDefault();
    ui.drop.classList.remove("over");
    const file = e.dataTransfer?.files?.[0];
    if (file) analyzeUserFile(file);
    else showMessage("Nothing to analyse was dropped: drop a photo file (JPEG, PNG, WebP).");
  });
}

async function start() {
  window.fasDemo = { analyze, benchmark, setModel: loadClassifier, startCamera, stopCamera, camera,
    get ready() { return document.body.dataset.ready === "true"; } };
  const threads = configureRuntime();
  wireControls();
  ui.status.textContent = `loading models (onnxruntime-web ${ort.env.versions?.web || ""}, WASM, ${threads} thread`
    + `${threads > 1 ? "s" : ""})…`;
  try {
    await loadModels();
  } catch (error) {
    ui.status.textContent = "models not loaded";
    showMessage(error instanceof PageError ? error.message : `The models could not be loaded: ${error.message}`);
    document.body.dataset.ready = "false";
    return;
  }
  ui.status.textContent = `ready: YOLOv7-lite + ${state.manifest.classifiers[state.precision].label}, WASM, `
    + `${threads} thread${threads > 1 ? "s" : ""}${crossOriginIsolated ? " (cross-origin isolated)" : ""}`;
  document.body.dataset.ready = "true";
  const image = params.get("image");
  if (image) {
    try {
      const result = await analyze(image);
      document.body.dataset.result = JSON.stringify(result);
    } catch (error) {
      showMessage(error instanceof PageError ? error.message : `The image could not be analysed: ${error.message}`);
    }
  }
}

start();

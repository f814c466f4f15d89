// YOLOv7-lite face detection as fasutils.detection does it (boxes.py letterbox / to_input / nms, decoding.py
// decode / postprocess), with float32 rounding where NumPy computes in float32, so boxes match to the bit in
// most cases. Settings (input size, thresholds, anchors, strides) come from the manifest that build_web writes
// from fasutils' own constants. Pure (no DOM): `run` is given the network as a function.

import { resizeLinear, roundHalfEven } from "./imaging.js";

const f32 = Math.fround;
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255); // to_input's float32 v / 255

/** fasutils.detection.boxes.letterbox + to_input: (1, 3, H, W) float32 RGB / 255 and where the image sits. */
export function letterbox(image, [inH, inW], padValue) {
  const scale = Math.min(inH / image.height, inW / image.width);
  const newW = roundHalfEven(image.width * scale), newH = roundHalfEven(image.height * scale);
  const left = Math.floor((inW - newW) / 2), top = Math.floor((inH - newH) / 2);
  const resized = resizeLinear(image, newW, newH);
  const plane = inH * inW;
  const tensor = new Float32Array(3 * plane).fill(BYTE_TO_UNIT[padValue]);
  const pixels = resized.data;
  for (let y = 0; y < newH; y++) {
    for (let x = 0, s = y * newW * 3, o = (y + top) * inW + left; x < newW; x++, s += 3, o++) {
      tensor[o] = BYTE_TO_UNIT[pixels[s]];
      tensor[plane + o] = BYTE_TO_UNIT[pixels[s + 1]];
      tensor[2 * plane + o] = BYTE_TO_UNIT[pixels[s + 2]];
    }
  }
  return { tensor, placement: { scale, left, top } };
}

const sigmoid = (x) => f32(0.5 * f32(1 + f32(Math.tanh(f32(0.5 * x)))));

/**
 * decoding.decode: every anchor of the raw maps [{data, dims: [1, 63, h, w]}] as input-pixel candidates, in
 * fasutils' order (level, anchor, y, x). Anchors scoring `minScore` or less are left out (NMS drops them anyway).
 */
export function decode(outputs, config, minScore = -Infinity) {
  const per = config.values_per_anchor, k = config.num_keypoints, classes = config.num_classes;
  const boxes = [], scores = [], landmarks = [];
  outputs.forEach((raw, level) => {
    const [h, w] = raw.dims.slice(-2), stride = config.strides[level], anchors = config.anchors[level];
    const at = (a, v, y, x) => raw.data[((a * per + v) * h + y) * w + x];
    anchors.forEach(([aw, ah], a) => {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let best = 0;
          for (let c = 0; c < classes; c++) best = Math.max(best, sigmoid(at(a, 5 + c, y, x)));
          const score = f32(sigmoid(at(a, 4, y, x)) * best);
          if (!(score > minScore)) continue;
          scores.push(score);
          const cx = (f32(f32(sigmoid(at(a, 0, y, x)) * 2) - 0.5) + x) * stride;
          const cy = (f32(f32(sigmoid(at(a, 1, y, x)) * 2) - 0.5) + y) * stride;
          const sw = f32(sigmoid(at(a, 2, y, x)) * 2), sh = f32(sigmoid(at(a, 3, y, x)) * 2);
          const bw = f32(f32(sw * sw) * aw), bh = f32(f32(sh * sh) * ah);
          boxes.push(f32(cx - bw / 2), f32(cy - bh / 2), bw, bh);
          for (let p = 0; p < k; p++) {
            const v = 5 + classes + 3 * p;
            landmarks.push(f32((f32(f32(at(a, v, y, x) * 2) - 0.5) + x) * stride),
              f32((f32(f32(at(a, v + 1, y, x) * 2) - 0.5) + y) * stride));
          }
        }
      }
    });
  });
  return { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), landmarks: Float32Array.from(landmarks) };
}

/** cv2.dnn.NMSBoxes on Rect2d: scores above the threshold, stable sort by score, greedy IoU (as float32). */
export function nms(boxes, scores, scoreThreshold, nmsThreshold) {
  const order = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] > f32(scoreThreshold)) order.push(i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const kept = [];
  const iou = (i, j) => {
    const [ax, ay, aw, ah] = boxes.subarray(4 * i, 4 * i + 4), [bx, by, bw, bh] = boxes.subarray(4 * j, 4 * j + 4);
    const total = aw * ah + bw * bh;
    if (total <= Number.EPSILON) return 1;
    const iw = Math.min(ax + aw, bx + bw) - Math.max(ax, bx), ih = Math.min(ay + ah, by + bh) - Math.max(ay, by);
    const inter = iw > 0 && ih > 0 ? iw * ih : 0;
    return f32(1 - f32(1 - inter / (total - inter)));
  };
  for (const i of order) {
    if (kept.every((j) => iou(i, j) <= f32(nmsThreshold))) kept.push(i);
  }
  return kept;
}

/**
 * The faces of one RGB image, best score first: {box: [x, y, w, h], landmarks: [[x, y] x 5], score}.
 * `run(tensor, [H, W])` returns the raw maps in stride order. Boxes are clipped to the image and faces with a
 * side under `minFace` pixels dropped (decoding.postprocess, then the pipeline's 1-pixel floor).
 */
export async function detectFaces(image, settings, run) {
  const { tensor, placement } = letterbox(image, settings.input_size, settings.pad_value);
  const outputs = await run(tensor, settings.input_size);
  const candidates = decode(outputs, settings, f32(settings.score_threshold));
  const kept = nms(candidates.boxes, candidates.scores, settings.score_threshold, settings.nms_threshold);
  const { scale, left, top } = placement;
  const s32 = f32(scale), k = settings.num_keypoints;
  const faces = [];
  for (const i of kept) {
    const b = candidates.boxes.subarray(4 * i, 4 * i + 4);
    const x = (b[0] - left) / scale, y = (b[1] - top) / scale;
    const w = f32(b[2] / s32), h = f32(b[3] / s32);
    const x0 = Math.min(Math.max(x, 0), image.width), y0 = Math.min(Math.max(y, 0), image.height);
    const x1 = Math.min(Math.max(x + w, 0), image.width), y1 = Math.min(Math.max(y + h, 0), image.height);
    const landmarks = [];
    for (let p = 0; p < k; p++) {
      const o = (i * k + p) * 2;
      landmarks.push([f32((candidates.landmarks[o] - left) / scale), f32((candidates.landmarks[o + 1] - top) / scale)]);
    }
    const box = [x0, y0, x1 - x0, y1 - y0];
    if (Math.min(box[2], box[3]) >= Math.max(settings.min_face, 1)) {
      faces.push({ box, landmarks, score: candidates.scores[i] });
    }
  }
  return faces;
}

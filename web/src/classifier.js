// The liveness classifier's input convention, read from the ONNX file's fas.* metadata (written by
// fasutils.export.onnx_export.convention_metadata), and the crop + tensor it asks for, as
// fasutils.data.crops.crop_region / crop_face and InputConvention.prepare / live_probability do it. Pure (no DOM).

import { onnxMetadata } from "./onnx_metadata.js";
import { cropRegion, padBorder, resizeLinear } from "./imaging.js";

const REQUIRED = ["convention", "color_order", "scale", "input_size", "classes", "live_index", "crop"];

/** The input convention of the ONNX classifier in `buffer`; an Error naming what is missing otherwise. */
export function readConvention(buffer) {
  const meta = onnxMetadata(buffer);
  const missing = REQUIRED.filter((key) => !(`fas.${key}` in meta));
  if (missing.length) {
    throw new Error(`the classifier has no fas.* input convention in its metadata (missing ${missing.join(", ")}); `
      + "export it with fasutils.export.onnx_export.export_onnx");
  }
  const crop = JSON.parse(meta["fas.crop"]);
  const convention = {
    name: meta["fas.convention"],
    colorOrder: meta["fas.color_order"],
    scale: Number(meta["fas.scale"]),
    inputSize: JSON.parse(meta["fas.input_size"]), // [height, width]
    classes: JSON.parse(meta["fas.classes"]),
    liveIndex: Number(meta["fas.live_index"]),
    crop,
  };
  if (crop.interpolation !== "linear") {
    throw new Error(`convention ${convention.name} resizes its crops with "${crop.interpolation}"; the browser demo `
      + "implements OpenCV's linear resize only, so its P(live) would not match fasutils");
  }
  if (!["rgb", "bgr"].includes(convention.colorOrder)) throw new Error(`unknown colour order ${convention.colorOrder}`);
  return convention;
}

/** crops.crop_region: (x0, y0, x1, y1), end exclusive, that the convention cuts from a width x height image. */
export function cropBox([width, height], [x, y, w, h], crop) {
  const cx = x + w / 2, cy = y + h / 2;
  if (crop.box_rule === "square_pad") {
    const side = crop.scale * Math.max(w, h);
    const x0 = Math.trunc(cx - side / 2), y0 = Math.trunc(cy - side / 2);
    return [x0, y0, x0 + Math.trunc(side), y0 + Math.trunc(side)];
  }
  const scale = Math.min((height - 1) / h, (width - 1) / w, crop.scale);
  let left = cx - w * scale / 2, right = cx + w * scale / 2, top = cy - h * scale / 2, bottom = cy + h * scale / 2;
  if (left < 0) { right -= left; left = 0; }
  if (top < 0) { bottom -= top; top = 0; }
  if (right > width - 1) { left -= right - width + 1; right = width - 1; }
  if (bottom > height - 1) { top -= bottom - height + 1; bottom = height - 1; }
  return [Math.trunc(left), Math.trunc(top), Math.trunc(right) + 1, Math.trunc(bottom) + 1];
}

/** crops.crop_face + InputConvention.prepare for one face: a (3, H, W) float32 tensor (appended at `offset`). */
export function prepareFace(image, box, convention, out, offset = 0) {
  const [x0, y0, x1, y1] = cropBox([image.width, image.height], box, convention.crop);
  const ix0 = Math.max(x0, 0), iy0 = Math.max(y0, 0), ix1 = Math.min(x1, image.width), iy1 = Math.min(y1, image.height);
  if (ix1 <= ix0 || iy1 <= iy0) throw new Error(`the ${convention.crop.name} crop of face box ${box} misses the image`);
  const [outH, outW] = convention.inputSize;
  let source = image, region = [ix0, iy0, ix1 - ix0, iy1 - iy0];
  if (convention.crop.box_rule === "square_pad") {
    const pads = [Math.max(0, -y0), Math.max(0, y1 - image.height), Math.max(0, -x0), Math.max(0, x1 - image.width)];
    if (pads.some((p) => p > 0)) {
      source = padBorder(cropRegion(image, region), pads, convention.crop.border, convention.crop.pad_value);
      region = [0, 0, source.width, source.height];
    }
  }
  const crop = resizeLinear(source, outW, outH, region);
  const plane = outH * outW, scale = Math.fround(convention.scale);
  const order = convention.colorOrder === "bgr" ? [2, 1, 0] : [0, 1, 2];
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[offset + c * plane + i] = Math.fround(crop.data[i * 3 + order[c]] * scale);
  }
  return out;
}

/** InputConvention.live_probability: softmax over the classes (float64), the live class's share, per row. */
export function liveProbabilities(logits, classes, liveIndex) {
  const result = [];
  for (let row = 0; row < logits.length / classes; row++) {
    const values = Array.from(logits.subarray(row * classes, (row + 1) * classes));
    const top = Math.max(...values);
    const exp = values.map((v) => Math.exp(v - top));
    result.push(exp[liveIndex] / exp.reduce((a, b) => a + b, 0));
  }
  return result;
}

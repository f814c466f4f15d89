// Pixels without the canvas: RGB images as {data: Uint8Array (H*W*3, RGB interleaved), width, height}, and the
// resizes of fasutils done the way OpenCV's cv2.resize(..., INTER_LINEAR) does them on uint8 (fixed point, 11-bit
// coefficients), because canvas drawImage smooths differently and P(live) would move with it.
// Pure functions (no DOM): Node can run them too.

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS; // 2048: OpenCV's INTER_RESIZE_COEF_SCALE
export const SIMD_MIN_ROW = 16; // row elements from which OpenCV's vertical pass runs vectorised

/** Round half to even (Python's round(), OpenCV's cvRound on x86). */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function saturateShort(x) {
  return Math.max(-32768, Math.min(32767, roundHalfEven(x)));
}

/** RGBA (canvas ImageData) -> RGB, transparent pixels blended over `background` as fasutils.core.images does. */
export function rgbaToRgb(rgba, width, height, background = [128, 128, 128]) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    const alpha = rgba[i + 3];
    if (alpha === 255) {
      data[j] = rgba[i]; data[j + 1] = rgba[i + 1]; data[j + 2] = rgba[i + 2];
    } else {
      const a = Math.fround(alpha / 255);
      for (let c = 0; c < 3; c++) {
        const colour = Math.fround(rgba[i + c] / 255);
        const under = Math.fround(background[c] / 255);
        data[j + c] = roundHalfEven(Math.fround(Math.fround(colour * a + Math.fround(under * (1 - a))) * 255));
      }
    }
  }
  return { data, width, height };
}

/** OpenCV's per-destination source index and two 11-bit weights along one axis of INTER_LINEAR. */
function linearTaps(srcSize, dstSize, clampFraction) {
  const index = new Int32Array(dstSize);
  const w0 = new Int32Array(dstSize);
  const w1 = new Int32Array(dstSize);
  for (let d = 0; d < dstSize; d++) {
    const f = Math.fround((d + 0.5) * (1 / (dstSize / srcSize)) - 0.5); // OpenCV: scale = 1 / (dst / src)
    let s = Math.floor(f);
    let fraction = Math.fround(f - s);
    if (clampFraction && s < 0) { s = 0; fraction = 0; }
    if (clampFraction && s >= srcSize - 1) { s = srcSize - 1; fraction = 0; }
    index[d] = s;
    w0[d] = saturateShort(Math.fround(1 - fraction) * COEF_SCALE);
    w1[d] = saturateShort(fraction * COEF_SCALE);
  }
  return { index, w0, w1 };
}

/** Exact 2x downscale: OpenCV turns INTER_LINEAR into its fast area path, (a + b + c + d + 2) >> 2. */
function halve(src, x0, y0, outW, outH) {
  const out = new Uint8Array(outW * outH * 3);
  const stride = src.width * 3;
  for (let y = 0; y < outH; y++) {
    const r0 = (y0 + 2 * y) * stride;
    const r1 = r0 + stride;
    for (let x = 0; x < outW; x++) {
      const s = (x0 + 2 * x) * 3;
      for (let c = 0; c < 3; c++) {
        const i = s + c;
        out[(y * outW + x) * 3 + c] = (src.data[r0 + i] + src.data[r0 + i + 3] + src.data[r1 + i]
          + src.data[r1 + i + 3] + 2) >> 2;
      }
    }
  }
  return { data: out, width: outW, height: outH };
}

/**
 * cv2.resize(image[y0:y0+h, x0:x0+w], (outW, outH), interpolation=cv2.INTER_LINEAR) for a 3-channel uint8 image.
 * `region` = [x0, y0, w, h] inside `src` (default: the whole image).
 */
export function resizeLinear(src, outW, outH, region = [0, 0, src.width, src.height]) {
  const [x0, y0, w, h] = region;
  if (w === outW && h === outH) return cropRegion(src, region);
  if (w === 2 * outW && h === 2 * outH) return halve(src, x0, y0, outW, outH);
  const xs = linearTaps(w, outW, true);
  const ys = linearTaps(h, outH, false);
  const stride = src.width * 3;
  const rowLen = outW * 3;
  const out = new Uint8Array(outH * rowLen);
  const rows = [new Int32Array(rowLen), new Int32Array(rowLen)];
  const rowOf = [-1, -1];
  // Per output element: the two source offsets in a row and their weights (past the last column OpenCV reads the
  // first tap only, with weight 2048: the second tap is pointed at the first with weight 0).
  const first = new Int32Array(rowLen), second = new Int32Array(rowLen);
  const a0 = new Int32Array(rowLen), a1 = new Int32Array(rowLen);
  for (let dx = 0; dx < outW; dx++) {
    const sx = xs.index[dx], last = sx + 1 >= w;
    for (let c = 0; c < 3; c++) {
      const e = dx * 3 + c;
      first[e] = sx * 3 + c;
      second[e] = last ? first[e] : first[e] + 3;
      a0[e] = last ? COEF_SCALE : xs.w0[dx];
      a1[e] = last ? 0 : xs.w1[dx];
    }
  }
  const pixels = src.data;
  const horizontal = (sy, target) => {
    const base = (y0 + sy) * stride + x0 * 3;
    for (let e = 0; e < rowLen; e++) target[e] = pixels[base + first[e]] * a0[e] + pixels[base + second[e]] * a1[e];
  };
  // OpenCV's vertical pass (SIMD, whole rows, the last vector overlapping): ((S0 >> 4) * b0 >> 16) +
  // ((S1 >> 4) * b1 >> 16), rounded >> 2; rows shorter than one vector: (S0 * b0 + S1 * b1 + 2^21) >> 22.
  const simd = rowLen >= SIMD_MIN_ROW;
  for (let dy = 0; dy < outH; dy++) {
    const sy0 = ys.index[dy];
    const wanted = [Math.min(Math.max(sy0, 0), h - 1), Math.min(Math.max(sy0 + 1, 0), h - 1)];
    for (let k = 0; k < 2; k++) {
      if (rowOf[k] !== wanted[k]) {
        const other = rowOf.indexOf(wanted[k]);
        if (other >= 0 && other !== k) rows[k].set(rows[other]);
        else horizontal(wanted[k], rows[k]);
        rowOf[k] = wanted[k];
      }
    }
    const b0 = ys.w0[dy], b1 = ys.w1[dy];
    const S0 = rows[0], S1 = rows[1];
    const o = dy * rowLen;
    if (simd) {
      for (let x = 0; x < rowLen; x++) {
        const v = ((((S0[x] >> 4) * b0) >> 16) + (((S1[x] >> 4) * b1) >> 16) + 2) >> 2;
        out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    } else {
      for (let x = 0; x < rowLen; x++) {
        const v = (S0[x] * b0 + S1[x] * b1 + (1 << 21)) >> 22;
        out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return { data: out, width: outW, height: outH };
}

/** image[y0:y0+h, x0:x0+w] as its own RGB image (the region must lie inside). */
export function cropRegion(src, [x0, y0, w, h]) {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const start = ((y0 + y) * src.width + x0) * 3;
    out.set(src.data.subarray(start, start + w * 3), y * w * 3);
  }
  return { data: out, width: w, height: h };
}

/** `src` inside a (top, bottom, left, right)-padded border, constant `value` or mirrored (BORDER_REFLECT_101). */
export function padBorder(src, [top, bottom, left, right], border, value = 0) {
  const width = src.width + left + right, height = src.height + top + bottom;
  const out = new Uint8Array(width * height * 3);
  const reflect = (i, n) => {
    if (n === 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sx = x - left, sy = y - top;
      const inside = sx >= 0 && sy >= 0 && sx < src.width && sy < src.height;
      const o = (y * width + x) * 3;
      if (!inside && border === "constant") {
        out[o] = out[o + 1] = out[o + 2] = value;
        continue;
      }
      sx = reflect(sx, src.width); sy = reflect(sy, src.height);
      const s = (sy * src.width + sx) * 3;
      out[o] = src.data[s]; out[o + 1] = src.data[s + 1]; out[o + 2] = src.data[s + 2];
    }
  }
  return { data: out, width, height };
}

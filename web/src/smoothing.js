// Webcam decisions smoothed over frames by one named rule: an exponential moving average of each face's P(live),
// the face followed from frame to frame by box overlap. Pure (no DOM).

export function boxIou(a, b) {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  const inter = Math.max(w, 0) * Math.max(h, 0);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

export class EmaSmoother {
  constructor({ alpha = 0.3, minIou = 0.3, threshold = 0.5 } = {}) {
    Object.assign(this, { alpha, minIou, threshold });
    this.tracks = []; // [{box, value, frames}]
  }

  get rule() {
    return `EMA of P(live): s = ${this.alpha}·p + ${(1 - this.alpha).toFixed(2)}·s, per face followed by box IoU ≥ `
      + `${this.minIou} (else restarted); decision live if s ≥ ${this.threshold}`;
  }

  reset() { this.tracks = []; }

  /** Adds `smoothed` and `smoothed_decision` to each face of one frame. */
  update(faces) {
    const free = new Set(this.tracks.keys());
    const next = faces.map((face) => {
      let best = -1, bestIou = this.minIou;
      for (const t of free) {
        const iou = boxIou(face.box, this.tracks[t].box);
        if (iou >= bestIou) { best = t; bestIou = iou; }
      }
      const previous = best >= 0 ? this.tracks[best] : null;
      if (previous) free.delete(best);
      const value = previous ? this.alpha * face.p_live + (1 - this.alpha) * previous.value : face.p_live;
      face.smoothed = value;
      face.smoothed_decision = value >= this.threshold ? "live" : "spoof";
      return { box: face.box, value, frames: previous ? previous.frames + 1 : 1 };
    });
    this.tracks = next;
    return faces;
  }
}

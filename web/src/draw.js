// Boxes, the five landmarks and P(live) drawn over the analysed picture (shown at its own pixel size; CSS scales it).

const COLOURS = { live: "#1b9e3e", spoof: "#d62728" };

export function drawResult(canvas, imageData, faces, smoothed = false) {
  canvas.width = imageData.width;
  canvas.height = imageData.height;
  const context = canvas.getContext("2d");
  context.putImageData(imageData, 0, 0);
  const line = Math.max(2, Math.round(Math.max(imageData.width, imageData.height) / 300));
  context.lineWidth = line;
  context.font = `bold ${8 * line}px system-ui, sans-serif`;
  for (const face of faces) {
    const decision = smoothed ? face.smoothed_decision : face.decision;
    const [x, y, w, h] = face.box;
    context.strokeStyle = context.fillStyle = COLOURS[decision];
    context.strokeRect(x, y, w, h);
    for (const [px, py] of face.landmarks) {
      context.beginPath();
      context.arc(px, py, 1.5 * line, 0, 2 * Math.PI);
      context.fill();
    }
    const value = smoothed ? face.smoothed : face.p_live;
    const label = `${decision} ${value.toFixed(2)}`;
    const textY = y > 10 * line ? y - 2 * line : y + h + 9 * line;
    context.fillRect(x - line / 2, textY - 8 * line, context.measureText(label).width + 2 * line, 10 * line);
    context.fillStyle = "#fff";
    context.fillText(label, x + line / 2, textY);
  }
}

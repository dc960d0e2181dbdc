// The detections on #view: the picture scaled to fit, boxes with "class score" labels in their
// class's colour (./class-colours.js).
import { fitSize, sizeCanvas } from './canvas-size.js';
import { classColour } from './class-colours.js';

/**
 * Draws `frame` ({canvas, width, height}: the picture, maybe stored scaled down, and its size)
 * into `view`, as large as its container and the window allow, then `detections`
 * (boxes in picture pixels), the best-scoring last so it is on top.
 */
export function drawView(view, frame, detections) {
  const maxWidth = view.parentElement.clientWidth || frame.width;
  const { w, h } = fitSize(frame.width, frame.height, maxWidth, Math.max(240, window.innerHeight * 0.75));
  const ctx = sizeCanvas(view, w, h);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(frame.canvas, 0, 0, w, h);

  const sx = w / frame.width;
  const sy = h / frame.height;
  ctx.font = '600 13px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  ctx.lineWidth = 2;
  for (const d of [...detections].sort((a, b) => a.score - b.score)) {
    const [x1, y1, x2, y2] = d.bbox;
    const colour = classColour(d.label);
    const x = x1 * sx;
    const y = y1 * sy;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x, y, (x2 - x1) * sx, (y2 - y1) * sy);

    const text = `${d.class} ${d.score.toFixed(2)}`;
    const tw = ctx.measureText(text).width + 8;
    const th = 18;
    const ty = y >= th ? y - th : y; // above the box, or inside it at the top edge
    const tx = Math.min(Math.max(0, x - 1), Math.max(0, w - tw));
    ctx.fillStyle = colour;
    ctx.fillRect(tx, ty, tw, th);
    ctx.fillStyle = '#fff';
    ctx.fillText(text, tx + 4, ty + 2);
  }
}

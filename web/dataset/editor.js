// The dataset's editing canvas (#dataset-canvas): the current photo with its boxes, and the mouse:
// drag on empty space (or Shift-drag anywhere) draws a box, dragging a box moves it, the selected
// box's handles resize it, a click selects. Boxes are stored in image pixels.
import { fitSize, sizeCanvas } from '../canvas-size.js';
import { classColour } from '../class-colours.js';
import { MIN_SIDE, cursorFor, dragBox, fitBox, handlePoints, hitTest, normalize, toImagePoint, tooSmall } from './geometry.js';

const GRAB_PX = 7; // how near (CSS px) a handle must be to grab it
const CLICK_PX = 2; // a pointer that moves less than this (CSS px) clicks rather than drags
const HANDLE_PX = 8; // drawn handle size (CSS px)
const MAX_ZOOM = 8;

export const colourOf = (classId) => classColour(Math.max(0, classId - 1));

/**
 * The editor asks `host` for what to show and reports what the user did:
 * host.view() -> {image, bitmap, classes, activeClass, selected} (image: the current photo of
 * model.js or null; bitmap: its decoded picture or null while it loads), host.select(boxId or
 * null), host.addBox(bbox), host.changeBox(before, after), host.refuse(text).
 */
export class Editor {
  constructor(canvas, host) {
    this.canvas = canvas;
    this.host = host;
    this.drag = null; // {part: 'draw' | 'move' | handle, id, start: [x, y], client: [x, y], box, moved, preview}
    this.hover = null; // the pointer in image pixels while over the canvas
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', () => this.cancel());
    canvas.addEventListener('lostpointercapture', () => this.drag && this.cancel());
    canvas.addEventListener('pointerleave', () => {
      this.hover = null;
      if (!this.drag) this.draw();
    });
  }

  /** True while a box is being drawn or dragged. */
  get busy() {
    return this.drag !== null;
  }

  /** Drops a drag in progress (the box keeps its place). */
  cancel() {
    this.drag = null;
    this.draw();
  }

  point(e) {
    const { image } = this.host.view();
    return toImagePoint(e.clientX, e.clientY, this.canvas.getBoundingClientRect(), image.width, image.height);
  }

  /** Image pixels per CSS pixel. */
  unit() {
    return this.host.view().image.width / this.canvas.getBoundingClientRect().width;
  }

  down(e) {
    const { image, bitmap, selected } = this.host.view();
    if (e.button !== 0 || !image || !bitmap) return;
    e.preventDefault();
    this.canvas.focus({ preventScroll: true });
    const start = this.point(e);
    const hit = e.shiftKey ? null : hitTest(image.boxes, start[0], start[1], selected, GRAB_PX * this.unit());
    this.host.select(hit ? hit.id : null);
    const box = hit && image.boxes.find((b) => b.id === hit.id);
    this.drag = { part: hit ? hit.part : 'draw', id: hit?.id ?? null, start, client: [e.clientX, e.clientY], box, moved: false, preview: null };
    try {
      this.canvas.setPointerCapture(e.pointerId);
    } catch {
      // a synthetic pointer without capture still drags while it stays over the canvas
    }
    this.draw();
  }

  move(e) {
    const { image } = this.host.view();
    if (!image) return;
    const p = this.point(e);
    this.hover = p;
    const d = this.drag;
    if (!d) {
      const { selected } = this.host.view();
      const hit = e.shiftKey ? null : hitTest(image.boxes, p[0], p[1], selected, GRAB_PX * this.unit());
      this.canvas.style.cursor = hit ? cursorFor(hit.part) : 'crosshair';
      this.draw();
      return;
    }
    d.moved ||= Math.hypot(e.clientX - d.client[0], e.clientY - d.client[1]) >= CLICK_PX;
    if (!d.moved) return;
    const raw = d.part === 'draw' ? [...d.start, ...p] : dragBox(d.box.bbox, d.part, p[0] - d.start[0], p[1] - d.start[1]);
    d.preview = fitBox(raw, image.width, image.height).bbox;
    this.draw();
  }

  up(e) {
    const d = this.drag;
    if (!d) return;
    this.move(e);
    this.drag = null;
    if (d.moved && d.preview) this.finish(d);
    this.draw();
  }

  finish(d) {
    const [x1, y1, x2, y2] = d.preview;
    const size = `${x2 - x1} × ${y2 - y1} px`;
    if (tooSmall(d.preview)) {
      const what = d.part === 'draw' ? 'No box was added' : 'The box was not changed';
      const where = x2 <= x1 || y2 <= y1 ? 'it would lie outside the photo' : `it would be ${size}`;
      this.host.refuse(`${what}: ${where}, and a box needs at least ${MIN_SIDE} px on each side.`);
    } else if (d.part === 'draw') {
      this.host.addBox(d.preview);
    } else if (d.preview.some((v, i) => v !== d.box.bbox[i])) {
      this.host.changeBox(d.box, { ...d.box, bbox: d.preview });
    }
  }

  /** Sizes the canvas to its photo (as large as the container and 70% of the window allow) and draws it all. */
  draw() {
    const { image, bitmap, classes, activeClass, selected } = this.host.view();
    const canvas = this.canvas;
    canvas.hidden = !image;
    if (!image) return;
    const maxWidth = canvas.parentElement.clientWidth || image.width;
    const { w, h } = fitSize(image.width, image.height, maxWidth, Math.max(240, window.innerHeight * 0.7), MAX_ZOOM);
    const ctx = sizeCanvas(canvas, w, h);
    ctx.clearRect(0, 0, w, h);
    if (bitmap) ctx.drawImage(bitmap, 0, 0, w, h);
    else {
      ctx.fillStyle = '#e6e9ef';
      ctx.fillRect(0, 0, w, h);
    }
    const s = w / image.width;
    const toCss = ([x1, y1, x2, y2]) => [x1 * s, y1 * (h / image.height), x2 * s, y2 * (h / image.height)];
    const names = new Map(classes.map((c) => [c.id, c.name]));
    const d = this.drag;

    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    for (const b of image.boxes) {
      const bbox = d?.preview && d.id === b.id ? d.preview : b.bbox;
      drawBox(ctx, toCss(bbox), colourOf(b.classId), names.get(b.classId) ?? '?', b.id === selected, w);
    }
    if (d?.part === 'draw' && d.preview) {
      ctx.setLineDash([6, 4]);
      drawBox(ctx, toCss(normalize(d.preview)), colourOf(activeClass), names.get(activeClass) ?? '', false, w);
      ctx.setLineDash([]);
    }
    // Crosshair guides while drawing or over empty space, as in labelImg.
    const p = this.hover;
    if (p && (d?.part === 'draw' || (!d && canvas.style.cursor === 'crosshair'))) {
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.8)';
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(p[0] * s, 0);
      ctx.lineTo(p[0] * s, h);
      ctx.moveTo(0, p[1] * (h / image.height));
      ctx.lineTo(w, p[1] * (h / image.height));
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }
}

/** One box in CSS pixels: outline, name tag, and when selected a tint and the resize handles. */
function drawBox(ctx, [x1, y1, x2, y2], colour, name, selected, canvasWidth) {
  ctx.lineWidth = selected ? 3 : 2;
  ctx.strokeStyle = colour;
  if (selected) {
    ctx.globalAlpha = 0.2;
    ctx.fillStyle = colour;
    ctx.fillRect(x1, y1, x2 - x1, y2 - y1);
    ctx.globalAlpha = 1;
  }
  ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
  if (name) {
    const tw = ctx.measureText(name).width + 8;
    const th = 16;
    const ty = y1 >= th ? y1 - th : y1;
    const tx = Math.min(Math.max(0, x1 - 1), Math.max(0, canvasWidth - tw));
    ctx.fillStyle = colour;
    ctx.fillRect(tx, ty, tw, th);
    ctx.fillStyle = '#fff';
    ctx.fillText(name, tx + 4, ty + 2);
  }
  if (selected) {
    for (const [hx, hy] of Object.values(handlePoints([x1, y1, x2, y2]))) {
      ctx.fillStyle = '#fff';
      ctx.fillRect(hx - HANDLE_PX / 2, hy - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
      ctx.lineWidth = 1.5;
      ctx.strokeRect(hx - HANDLE_PX / 2, hy - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
    }
  }
}

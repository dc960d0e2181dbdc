// Sizing a canvas for a picture: as large as its box allows, sharp on high-DPI screens.

/**
 * The CSS size {w, h} of a `width` x `height` picture fitted into `maxWidth` x `maxHeight`,
 * keeping its aspect and enlarging it at most `maxZoom` times.
 */
export function fitSize(width, height, maxWidth, maxHeight, maxZoom = Infinity) {
  const fit = Math.min(maxWidth / width, maxHeight / height, maxZoom);
  return { w: Math.max(1, Math.floor(width * fit)), h: Math.max(1, Math.floor(height * fit)) };
}

/**
 * Sizes `canvas` to `w` x `h` CSS pixels at the screen's pixel ratio (resizing, which clears
 * it, only when the size changed) and returns its 2D context drawing in CSS pixels.
 */
export function sizeCanvas(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  const [pw, ph] = [Math.round(w * dpr), Math.round(h * dpr)];
  if (canvas.width !== pw || canvas.height !== ph || canvas.style.width !== `${w}px` || canvas.style.height !== `${h}px`) {
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    canvas.width = pw;
    canvas.height = ph;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Calls `draw` once per animation frame while the window is being resized (canvases follow their box). */
export function redrawOnResize(draw) {
  let queued = false;
  window.addEventListener('resize', () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      draw();
    });
  });
}

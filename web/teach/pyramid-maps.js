// The "What the feature pyramid sees" view as data: the pyramid JSON of
// window.libraApp.pyramidView grouped into rows, its maps coloured, and photo pixels mapped to
// map cells and back through the letterbox. Pure functions, no DOM.
//
// The JSON: {input_size, channels, channel, refine_level, refine, letterbox: {scale, pad_x, pad_y},
// maps: [{name, stage ("fpn" | "bfp" | "balanced"), stride, width, height, values, min, max}]}.
// A network input pixel is a photo pixel * scale + pad; cell (cx, cy) of a map with stride s
// covers the input pixels [cx * s, (cx + 1) * s) x [cy * s, (cy + 1) * s).

/** The rows of the view, top to bottom. */
export const ROWS = [
  { stage: 'fpn', label: 'FPN outputs: fine P2 (small objects) to coarse P6 (large ones)' },
  { stage: 'bfp', label: 'Balanced Feature Pyramid: all levels integrated at one level, then refined' },
  { stage: 'balanced', label: 'Balanced levels: each FPN level plus the refined map' },
];

/** matplotlib's viridis at 9 evenly spaced points (dark blue at 0 to yellow at 1), perceptually uniform. */
export const VIRIDIS = [
  [68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 144, 140],
  [39, 173, 129], [93, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** The colour [r, g, b] of `v` (clamped to [0, 1]; NaN as 0), interpolated in VIRIDIS. */
export function viridis(v) {
  const t = Number.isFinite(v) ? Math.min(1, Math.max(0, v)) * (VIRIDIS.length - 1) : 0;
  const k = Math.min(VIRIDIS.length - 2, Math.floor(t));
  const f = t - k;
  return VIRIDIS[k].map((c, i) => Math.round(c + (VIRIDIS[k + 1][i] - c) * f));
}

/** VIRIDIS as a CSS gradient from left (0) to right (1), for the colour scale. */
export const viridisCss = () => `linear-gradient(to right, ${VIRIDIS.map((c, k) => `rgb(${c.join(', ')}) ${Math.round((k * 100) / (VIRIDIS.length - 1))}%`).join(', ')})`;

/** RGBA pixels (opaque) of `values` in [0, 1], one per cell, for an ImageData. */
export function mapRgba(values) {
  const out = new Uint8ClampedArray(values.length * 4);
  values.forEach((v, i) => {
    out.set(viridis(v), i * 4);
    out[i * 4 + 3] = 255;
  });
  return out;
}

/** Attention weights as a heat overlay: viridis of value / `max`, with alpha rising from 0 to `opacity`. */
export function overlayRgba(values, max, opacity = 0.8) {
  const out = new Uint8ClampedArray(values.length * 4);
  values.forEach((v, i) => {
    const t = max > 0 ? Math.min(1, Math.max(0, v / max)) : 0;
    out.set(viridis(t), i * 4);
    out[i * 4 + 3] = Math.round(255 * opacity * t);
  });
  return out;
}

/** The maps of `stage`, in the view's order. */
export const stageMaps = (view, stage) => view.maps.filter((m) => m.stage === stage);

/** The rows that have maps: [{stage, label, maps}] (a model without a BFP has the FPN row only). */
export const rowsOf = (view) => ROWS.map((r) => ({ ...r, maps: stageMaps(view, r.stage) })).filter((r) => r.maps.length);

/** "P2 · 80×80 · stride 4". */
export const mapLabel = (m) => `${m.name} · ${m.width}×${m.height} · stride ${m.stride}`;

/** A map's key in the drawn order: "fpn/P2", "bfp/refined", "balanced/P2". */
export const mapKey = (m) => `${m.stage}/${m.name}`;

/** The network input pixel [u, v] of photo pixel (x, y). */
export const photoToInput = ({ scale, pad_x, pad_y }, x, y) => [x * scale + pad_x, y * scale + pad_y];

/** The photo pixel [x, y] of network input pixel (u, v) (outside the photo in the padding). */
export const inputToPhoto = ({ scale, pad_x, pad_y }, u, v) => [(u - pad_x) / scale, (v - pad_y) / scale];

/** The cell [cx, cy] of a `width` x `height` map with `stride` that photo pixel (x, y) falls in (clamped to the map). */
export function photoToCell(letterbox, { stride, width, height }, x, y) {
  const [u, v] = photoToInput(letterbox, x, y);
  const clamp = (c, n) => Math.min(n - 1, Math.max(0, Math.floor(c / stride)));
  return [clamp(u, width), clamp(v, height)];
}

/** The photo rectangle [x1, y1, x2, y2] that cell (cx, cy) of a map with `stride` covers (may reach into the padding). */
export function cellToPhoto(letterbox, stride, cx, cy) {
  const [x1, y1] = inputToPhoto(letterbox, cx * stride, cy * stride);
  const [x2, y2] = inputToPhoto(letterbox, (cx + 1) * stride, (cy + 1) * stride);
  return [x1, y1, x2, y2];
}

/** The whole photo pixel nearest to photo point (x, y) on a `width` x `height` photo. */
export const photoPixel = (x, y, width, height) => [Math.min(width - 1, Math.max(0, Math.floor(x))), Math.min(height - 1, Math.max(0, Math.floor(y)))];

/** The photo pixel at the centre of cell (cx, cy), moved onto the photo when the centre is in the padding. */
export function cellPhotoPixel(letterbox, stride, cx, cy, width, height) {
  const [x, y] = inputToPhoto(letterbox, (cx + 0.5) * stride, (cy + 0.5) * stride);
  return photoPixel(x, y, width, height);
}

/** Where the photo lies in the network input: [x, y, w, h] in input pixels. */
export function photoRegion({ scale, pad_x, pad_y }, width, height) {
  return [pad_x, pad_y, width * scale, height * scale];
}

/** The pickable channels: -1 (each map's channel energy), then 0..channels-1: [{value, label}]. */
export function channelOptions(channels) {
  return [{ value: -1, label: 'Energy (all channels)' }, ...Array.from({ length: channels }, (_, k) => ({ value: k, label: `Channel ${k}` }))];
}

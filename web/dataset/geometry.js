// Box geometry of the dataset editor, in image pixels: a box is [x1, y1, x2, y2] with x1 < x2 and
// y1 < y2 (continuous coordinates: [0, 0, 10, 10] covers the first ten pixel columns and rows).
// Pure functions, no DOM.

/** Boxes need at least this many pixels on each side. */
export const MIN_SIDE = 2;
/** Resize handles: corners and edge midpoints, by compass direction. */
export const HANDLES = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

/** The box with its corners in order (x1 <= x2, y1 <= y2). */
export function normalize([ax, ay, bx, by]) {
  return [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)];
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

/** The box, normalized, cut to the image [0, width] x [0, height]. */
export function clip(box, width, height) {
  const [x1, y1, x2, y2] = normalize(box);
  return [clamp(x1, 0, width), clamp(y1, 0, height), clamp(x2, 0, width), clamp(y2, 0, height)];
}

/** A drawn or dragged box as it is stored: whole pixels, clipped; `clipped` says if it was cut. */
export function fitBox(box, width, height) {
  const rounded = normalize(box).map(Math.round);
  const bbox = clip(rounded, width, height);
  return { bbox, clipped: bbox.some((v, i) => v !== rounded[i]) };
}

/** True when a side of the box is under MIN_SIDE pixels. */
export function tooSmall([x1, y1, x2, y2]) {
  return x2 - x1 < MIN_SIDE || y2 - y1 < MIN_SIDE;
}

/** Imported boxes clipped to the image; boxes left with no area are dropped. Counts both. */
export function clipAll(boxes, width, height) {
  const kept = [];
  let clipped = 0;
  let dropped = 0;
  for (const b of boxes) {
    const bbox = clip(b.bbox, width, height);
    if (bbox[2] - bbox[0] <= 0 || bbox[3] - bbox[1] <= 0) dropped++;
    else {
      if (bbox.some((v, i) => v !== normalize(b.bbox)[i])) clipped++;
      kept.push({ ...b, bbox });
    }
  }
  return { boxes: kept, clipped, dropped };
}

/** Where each handle of the box is: {nw: [x, y], n: [x, y], ...}. */
export function handlePoints([x1, y1, x2, y2]) {
  const mx = (x1 + x2) / 2;
  const my = (y1 + y2) / 2;
  return { nw: [x1, y1], n: [mx, y1], ne: [x2, y1], e: [x2, my], se: [x2, y2], s: [mx, y2], sw: [x1, y2], w: [x1, my] };
}

/**
 * What a pointer at (x, y) grabs among `boxes` ([{id, bbox}]): {id, part}, part being a handle
 * name or 'move', or null on empty space. Only the selected box has handles (within `tol`
 * pixels); otherwise the smallest box containing the point (grown by `tol`) is grabbed, so a
 * box inside another can still be picked.
 */
export function hitTest(boxes, x, y, selectedId, tol) {
  const selected = boxes.find((b) => b.id === selectedId);
  if (selected) {
    for (const [part, [hx, hy]] of Object.entries(handlePoints(selected.bbox))) {
      if (Math.abs(x - hx) <= tol && Math.abs(y - hy) <= tol) return { id: selected.id, part };
    }
  }
  let best = null;
  let bestArea = Infinity;
  for (const b of boxes) {
    const [x1, y1, x2, y2] = b.bbox;
    if (x < x1 - tol || x > x2 + tol || y < y1 - tol || y > y2 + tol) continue;
    const area = (x2 - x1) * (y2 - y1);
    if (area < bestArea) {
      best = b;
      bestArea = area;
    }
  }
  return best && { id: best.id, part: 'move' };
}

/** The box with `part` ('move' or a handle) dragged by (dx, dy); not normalized (edges may cross). */
export function dragBox([x1, y1, x2, y2], part, dx, dy) {
  if (part === 'move') return [x1 + dx, y1 + dy, x2 + dx, y2 + dy];
  return [
    part.includes('w') ? x1 + dx : x1,
    part.includes('n') ? y1 + dy : y1,
    part.includes('e') ? x2 + dx : x2,
    part.includes('s') ? y2 + dy : y2,
  ];
}

/** The box shifted by (dx, dy) but no further than the image's edges: its size never changes. */
export function nudgeBox([x1, y1, x2, y2], dx, dy, width, height) {
  const sx = clamp(dx, -x1, width - x2);
  const sy = clamp(dy, -y1, height - y2);
  return [x1 + sx, y1 + sy, x2 + sx, y2 + sy];
}

/** A point in client (CSS) coordinates as image pixels, for an image drawn over `rect`. */
export function toImagePoint(clientX, clientY, rect, width, height) {
  return [((clientX - rect.left) * width) / rect.width, ((clientY - rect.top) * height) / rect.height];
}

/** The CSS cursor for a grabbed part. */
export function cursorFor(part) {
  if (part === 'move') return 'move';
  return { n: 'ns-resize', s: 'ns-resize', e: 'ew-resize', w: 'ew-resize', nw: 'nwse-resize', se: 'nwse-resize', ne: 'nesw-resize', sw: 'nesw-resize' }[part];
}

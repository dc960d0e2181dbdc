// Boxes, ground truth and comparisons: IoU, the bundled samples' ground truth, and page
// detections against the ground truth and against the native CLI's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE, SAMPLES } from './native.mjs';

/** Detections at or above this score are compared (with the native CLI and the ground truth). */
export const MIN_SCORE = 0.3;

/** IoU of two [x1, y1, x2, y2] boxes. */
export function iou(a, b) {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const area = (r) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Ground-truth boxes of a bundled sample (web/samples/annotations.json, COCO): [{class, bbox: [x1,y1,x2,y2]}]. */
export function gtBoxes(file = SAMPLE) {
  const coco = JSON.parse(readFileSync(join(SAMPLES, 'annotations.json'), 'utf8'));
  const image = coco.images.find((i) => i.file_name === file);
  if (!image) throw new Error(`${file} is not in web/samples/annotations.json`);
  const names = Object.fromEntries(coco.categories.map((c) => [c.id, c.name]));
  const boxes = coco.annotations.filter((a) => a.image_id === image.id).map((a) => {
    const [x, y, w, h] = a.bbox;
    return { class: names[a.category_id], bbox: [x, y, x + w, y + h] };
  });
  if (!boxes.length) throw new Error(`${file} has no ground-truth boxes in web/samples/annotations.json`);
  return boxes;
}

/** The same-class detection of `pool` (score >= minScore) with the highest IoU against `box`: {det, iou} or null. */
export function bestMatch(box, pool, minScore = 0) {
  let best = null;
  for (const d of pool) {
    if (d.class !== box.class || d.score < minScore) continue;
    const v = iou(d.bbox, box.bbox);
    if (!best || v > best.iou) best = { det: d, iou: v };
  }
  return best;
}

export const fmt = (d) => (d ? `${d.class} [${d.bbox.map((v) => v.toFixed(1)).join(', ')}]${d.score !== undefined ? ` ${d.score.toFixed(4)}` : ''}` : 'none');
const fmtMatch = (m) => (m ? `${fmt(m.det)} IoU ${m.iou.toFixed(3)}` : 'none');
const hits = (m) => !!m && m.iou >= 0.5;

/** For every GT box of `file`: its best same-class detection >= MIN_SCORE in each named list of detections, logged. */
export function groundTruthTable(lists, file = SAMPLE, label = '') {
  return gtBoxes(file).map((gt) => {
    const row = { gt };
    for (const [name, dets] of Object.entries(lists)) row[name] = bestMatch(gt, dets, MIN_SCORE);
    console.log(`${label} GT ${fmt(gt)}: ${Object.keys(lists).map((n) => `${n} ${fmtMatch(row[n])} ${hits(row[n]) ? 'FOUND' : 'missed'}`).join('; ')}`);
    return row;
  });
}

/** GT boxes of `file` found (same class, IoU >= 0.5, score >= MIN_SCORE) among `dets`. */
export function foundGroundTruth(dets, file = SAMPLE, label = '') {
  return groundTruthTable({ page: dets }, file, label).filter((r) => hits(r.page));
}

/**
 * Asserts the page finds the ground truth of `file`: every GT box the native CLI finds must be found
 * by the page too (all misses are reported), and at least one GT box must be found. GT boxes the
 * model itself misses (native too) are logged, not failed: the browser tests check the page, not the model.
 */
export function assertGroundTruth(assert, pageDets, nativeDets, file = SAMPLE, label = '') {
  const rows = groundTruthTable({ page: pageDets, native: nativeDets }, file, label);
  const misses = rows.filter((r) => hits(r.native) && !hits(r.page));
  assert.deepEqual(misses.map((r) => `GT ${fmt(r.gt)}: native ${fmtMatch(r.native)}, page ${fmtMatch(r.page)}`), [],
    `${label}: ground-truth boxes of ${file} found natively but not by the page (same class, IoU >= 0.5, score >= ${MIN_SCORE})`);
  const modelMisses = rows.filter((r) => !hits(r.native)).length;
  if (modelMisses) console.log(`${label}: ${modelMisses} of ${rows.length} GT boxes of ${file} are missed by the model itself (native too)`);
  assert.ok(rows.some((r) => hits(r.page)), `${label}: the page finds none of the ${rows.length} ground-truth boxes of ${file}`);
}

/** Differences (strings) between page and native detections >= MIN_SCORE: each must have a same-class twin with IoU >= 0.99 and |Δscore| <= 1e-3. */
export function compareWithNative(pageDets, nativeDets) {
  const problems = [];
  const twin = (d, pool) => {
    const m = bestMatch(d, pool); // any score: a native 0.3001 may be 0.2999 on the page
    return { m, ok: !!m && m.iou >= 0.99 && Math.abs(m.det.score - d.score) <= 1e-3 };
  };
  for (const n of nativeDets.filter((d) => d.score >= MIN_SCORE)) {
    const { m, ok } = twin(n, pageDets);
    if (!ok) problems.push(`native ${fmt(n)} -> best page ${fmtMatch(m)}`);
  }
  for (const p of pageDets.filter((d) => d.score >= MIN_SCORE)) {
    const { m, ok } = twin(p, nativeDets);
    if (!ok) problems.push(`page-only ${fmt(p)} -> best native ${fmtMatch(m)}`);
  }
  return problems;
}

/** Asserts page detections == native detections (>= MIN_SCORE), logging both. */
export function assertSameAsNative(assert, pageDets, nativeDets, label) {
  const list = (dets) => dets.filter((d) => d.score >= MIN_SCORE).map(fmt).join('; ') || 'none';
  console.log(`${label}: native >= ${MIN_SCORE}: ${list(nativeDets)}`);
  console.log(`${label}: page   >= ${MIN_SCORE}: ${list(pageDets)}`);
  assert.ok(nativeDets.some((d) => d.score >= MIN_SCORE), `${label}: the native CLI found nothing >= ${MIN_SCORE} to compare with`);
  const problems = compareWithNative(pageDets, nativeDets);
  assert.deepEqual(problems, [], `${label}: page and native detections differ (IoU >= 0.99, |score diff| <= 1e-3)`);
}

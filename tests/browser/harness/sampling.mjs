// The sampling view, page against native: the picture the page sends (for the native CLI) and
// assertions that the page's sampling view equals the native CLI's.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { nativeSampling } from './native.mjs';

/**
 * The picture the page sends a model of input `side` for the photo `buffer` (PNG/JPEG bytes):
 * scaled down by the page's own `pixelsAtMost` (web/sources.js). Returns {png (its pixels as
 * PNG bytes, lossless), sx, sy}, to give the native CLI the very pixels the page's worker got.
 */
export async function sentPicture(page, buffer, side) {
  const { b64, sx, sy } = await page.evaluate(async ([photo, side]) => {
    const { pixelsAtMost } = await import(new URL('web/sources.js', location.href).href);
    const blob = new Blob([Uint8Array.from(atob(photo), (c) => c.charCodeAt(0))]);
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const { pixels, sx, sy } = pixelsAtMost(bitmap, bitmap.width, bitmap.height, side);
    const canvas = new OffscreenCanvas(pixels.width, pixels.height);
    canvas.getContext('2d').putImageData(pixels, 0, 0);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { b64: btoa(s), sx, sy };
  }, [buffer.toString('base64'), side]);
  return { png: Buffer.from(b64, 'base64'), sx, sy };
}

/**
 * The native CLI's sampling view of the picture the page sends (`sentPicture`) for the photo
 * `buffer` and a model of input `side`, with its candidates mapped back to the photo's pixels as
 * the page maps its own: what the page's sampling view must equal. `path`: where the picture goes.
 */
export async function nativeSamplingAsSent(page, buffer, side, path, boxes, seed, model) {
  const { png, sx, sy } = await sentPicture(page, buffer, side);
  writeFileSync(path, png);
  const sent = boxes.map(([x1, y1, x2, y2]) => [x1 * sx, y1 * sy, x2 * sx, y2 * sy]);
  const native = await nativeSampling(path, sent, seed, model);
  return { ...native, candidates: native.candidates.map(([x1, y1, x2, y2]) => [x1 / sx, y1 / sy, x2 / sx, y2 / sy]) };
}

export function assertClose(actual, expected, tol, label) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  const bad = actual.flat().findIndex((v, i) => !(Math.abs(v - expected.flat()[i]) <= tol));
  assert.equal(bad, -1, `${label}: element ${bad} differs by more than ${tol}: page ${JSON.stringify(actual.flat()[bad])}, native ${JSON.stringify(expected.flat()[bad])}`);
}

/**
 * Asserts the page's and the native candidates are the same boxes (within 1e-2 px) with the same
 * IoU (1e-4), the GT boxes first in both; returns the positions whose boxes are in another order.
 */
export function assertSameCandidates(view, native) {
  assert.equal(view.candidates.length, native.candidates.length, 'number of candidates');
  assertClose(view.candidates.slice(0, view.num_gt), native.candidates.slice(0, native.num_gt), 1e-2, 'GT candidates (px)');
  const near = (a, b) => a.every((v, k) => Math.abs(v - b[k]) <= 1e-2);
  const swapped = [];
  view.candidates.forEach((box, i) => {
    if (near(box, native.candidates[i])) {
      assert.ok(Math.abs(view.max_iou[i] - native.max_iou[i]) <= 1e-4, `candidate ${i}: IoU page ${view.max_iou[i]}, native ${native.max_iou[i]}`);
      return;
    }
    const j = native.candidates.findIndex((b) => near(box, b));
    assert.ok(j >= 0, `candidate ${i} [${box}] of the page is not among the native candidates`);
    assert.ok(Math.abs(view.max_iou[i] - native.max_iou[j]) <= 1e-4, `candidate ${i}: IoU page ${view.max_iou[i]}, native ${native.max_iou[j]}`);
    swapped.push(i);
  });
  assert.ok(swapped.length <= 4, `${swapped.length} candidates are in another order (${swapped}): more than near-ties explain`);
  if (swapped.length) console.log(`candidates in another order than natively (near-equal RPN scores): ${swapped}`);
  return swapped;
}

/** Every IoU-balanced negative's bin is the bin its IoU falls in (the sampler's own edges). */
export function assertBinsFollowIous(view) {
  const { neg, neg_source: sources, bin_edges: edges } = view.balanced.sampled;
  assert.equal(edges.length, 4, 'three IoU bins (the paper\'s K = 3)');
  neg.forEach((i, k) => {
    const bin = sources[k]?.Bin;
    if (bin === undefined) return; // a fill, not a bin draw
    const iou = view.max_iou[i];
    assert.ok(edges[bin] <= iou && iou < edges[bin + 1], `negative ${i} (IoU ${iou}) is said to come from bin ${bin} [${edges[bin]}, ${edges[bin + 1]})`);
  });
  assert.ok(sources.some((s) => s?.Bin !== undefined), 'some negatives come from the bins');
}

/**
 * Asserts the page's sampling view equals the native CLI's for the same photo, boxes and seed:
 * the same candidates (matched by box), bins that follow the IoUs, and the same picks.
 */
export function assertSamplingLikeNative(view, native) {
  assert.equal(view.num_gt, native.num_gt, 'GT boxes');
  assert.equal(view.seed, native.seed, 'seed');
  // wasm and x86 round the RPN's scores differently in the last bits, so two proposals with
  // near-equal scores may come out in either order: candidates are matched by box.
  const swapped = assertSameCandidates(view, native);
  assertBinsFollowIous(view);
  assert.deepEqual(view.histogram, native.histogram, 'histogram of all negatives');
  for (const sampler of ['random', 'balanced']) {
    const [p, n] = [view[sampler], native[sampler]];
    assertClose(p.sampled.bin_edges, n.sampled.bin_edges, 1e-4, `${sampler}: bin_edges`);
    assert.equal(p.sampled.pos.length, n.sampled.pos.length, `${sampler}: number of positives`);
    assert.equal(p.sampled.neg.length, n.sampled.neg.length, `${sampler}: number of negatives`);
    assert.ok(p.sampled.neg.length > 0, `${sampler}: some negatives`);
    if (swapped.length === 0) {
      // Same candidates in the same order: the same seed must give exactly the same picks.
      assert.deepEqual(p.sampled.pos, n.sampled.pos, `${sampler}: positives`);
      assert.deepEqual(p.sampled.neg, n.sampled.neg, `${sampler}: negatives`);
      assert.deepEqual(p.sampled.neg_source, n.sampled.neg_source, `${sampler}: neg_source`);
      assert.deepEqual(p.histogram, n.histogram, `${sampler}: histogram`);
      assert.ok(Math.abs(p.hard_share - n.hard_share) < 1e-6, `${sampler}: hard_share page ${p.hard_share}, native ${n.hard_share}`);
    } else {
      // A swap can move each swapped candidate in or out of a draw.
      const moved = p.sampled.neg.filter((i) => !n.sampled.neg.includes(i)).length;
      assert.ok(moved <= swapped.length, `${sampler}: ${moved} negatives differ, more than the ${swapped.length} swapped candidates`);
      assert.ok(Math.abs(p.hard_share - n.hard_share) <= swapped.length / p.sampled.neg.length + 1e-6, `${sampler}: hard_share page ${p.hard_share}, native ${n.hard_share}`);
    }
  }
}

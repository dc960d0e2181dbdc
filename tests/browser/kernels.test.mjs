// The hand-written WGSL kernels of shaders/ on WebGPU (SwiftShader in headless Chromium), run by
// tests/kernels/runner.mjs in an empty page, against the double-precision references of
// tests/kernels/reference.mjs (whole softmax matrices, no tiling): the fused non-local forward
// (y and logsumexp), its backward (dTheta, dPhi, dG), the attention rows of chosen pixels, the
// IoU-balanced sampler's statistics, and the runner's limit checks. Inputs are seeded.
// Needs no libra binary: the test serves the repository itself (tests/kernels/serve.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, TEST_TIMEOUT } from './harness.mjs';
import { serveRoot } from '../kernels/serve.mjs';

// Tolerances: max |kernel - reference| <= TOL * max(max |reference|, 1) over each output (the floor
// of 1 covers references that are exactly 0, e.g. the gradients of dTheta and dPhi at N = 1,
// where the kernel's f32 dY.g - D cancels to rounding noise of O(|dY| |g|) = O(1)).
// Forward: f32 dot products over C and sums over N (<= 1600 terms, eps 6e-8) give ~1e-6 relative;
// logits of +-60 (+-120) carry an absolute f32 error of ~|logit| * 1e-6, which exp turns into that
// relative error of the probabilities: 1e-4 covers both with margin (measured: <= 8e-6).
const TOL_FWD = 1e-4;
// logsumexp: absolute, |L| <= ~130 here, whose f32 spacing is 1.5e-5, plus the logit error above.
const TOL_LSE = 1e-4;
// Backward: dS = P (dY.g - D) subtracts two O(sqrt(C)) sums (cancellation), then sums N such terms;
// the inputs y and L are the kernel forward's own f32 outputs (as in training), whose errors pass on:
// twice the forward's bound (measured: <= 3e-6). Still below the ~1/N = 6e-4 of one lost term at N = 1600.
const TOL_BWD = 2e-4;
// Attention rows: probabilities in [0, 1], as the forward.
const TOL_ROWS = 1e-4;
// IoU: a handful of f32 operations on values <= 1 (areas up to 640^2, relative eps 6e-8): 1e-6 absolute.
const TOL_IOU = 1e-6;

let server;
let browser;
let page;
before(async () => {
  server = await serveRoot();
  browser = await launch({ webgpu: true });
  page = await openPage(browser, server.url);
  await page.waitForLoadState('load');
  // No WebGPU is a failure whose message says what to install or enable, never a skip.
  const setup = await page.evaluate(async () => {
    try {
      const { Kernels } = await import('/tests/kernels/runner.mjs');
      window.kernels = await Kernels.create();
      window.R = await import('/tests/kernels/reference.mjs');
      return { ok: true };
    } catch (e) {
      return { ok: false, error: e.message };
    }
  });
  if (!setup.ok) throw new Error(`${setup.error}\n${page.log()}`);
});
after(async () => { await browser?.close(); await server?.close(); });

/** page.evaluate with the page's console appended to a failure. */
async function inPage(fn, arg) {
  try {
    return await page.evaluate(fn, arg);
  } catch (e) {
    e.message = `${e.message}\n${page.log()}`;
    throw e;
  }
}

/** Asserts a compare() result: finite and within tol * max(max |reference|, 1). */
function assertClose(r, tol, label) {
  const bound = tol * Math.max(r.maxRef, 1);
  console.log(`${label}: max error ${r.maxErr.toExponential(2)} (${(r.maxErr / Math.max(r.maxRef, 1)).toExponential(2)} of max |ref| ${r.maxRef.toPrecision(4)}), bound ${bound.toExponential(2)}`);
  assert.equal(r.nonFinite, 0, `${label}: ${r.nonFinite} values are NaN or infinite`);
  assert.ok(r.maxErr <= bound, `${label}: max error ${r.maxErr} > ${bound} at ${r.at} (got ${r.got}, want ${r.want})`);
}

const forwardCase = (c) => inPage(async (c) => {
  const a = R.nonLocalInputs(c);
  const got = await kernels.forward(a);
  const want = R.nonLocalForward(a);
  return { maxLogit: R.maxLogit(a), y: R.compare(got.y, want.y), lse: R.compare(got.lse, want.lse) };
}, c);

const FORWARD = [
  { B: 1, N: 37, C: 16, seed: 1 },
  { B: 1, N: 1, C: 1, seed: 2 },
  { B: 1, N: 130, C: 33, seed: 3 },
  { B: 2, N: 100, C: 64, seed: 4 },
  { B: 1, N: 1600, C: 64, seed: 5 },
  { B: 1, N: 70, C: 256, seed: 6 },
  { B: 1, N: 45, C: 200, seed: 7 },
  { B: 1, N: 300, C: 16, seed: 8, logit: 60 },
  { B: 2, N: 257, C: 33, seed: 9, logit: 120 }, // exp(120) overflows f32: only a stable softmax survives
];

for (const c of FORWARD) {
  test(`non-local forward B=${c.B} N=${c.N} C=${c.C}${c.logit ? ` logits +-${c.logit}` : ''}`, { timeout: TEST_TIMEOUT }, async () => {
    const r = await forwardCase(c);
    if (c.logit) assert.ok(r.maxLogit >= 0.999 * c.logit, `the case must reach logits of ${c.logit}, max ${r.maxLogit}`);
    assertClose(r.y, TOL_FWD, 'y');
    assertClose({ ...r.lse, maxRef: 1 }, TOL_LSE, 'lse (absolute)');
  });
}

const BACKWARD = [
  { B: 1, N: 37, C: 16, seed: 11 },
  { B: 1, N: 1, C: 1, seed: 12 },
  { B: 1, N: 130, C: 33, seed: 13 },
  { B: 2, N: 100, C: 64, seed: 14 },
  { B: 1, N: 1600, C: 64, seed: 15 },
  { B: 1, N: 70, C: 256, seed: 16 },
  { B: 1, N: 300, C: 16, seed: 17, logit: 60 },
];

for (const c of BACKWARD) {
  test(`non-local backward B=${c.B} N=${c.N} C=${c.C}${c.logit ? ` logits +-${c.logit}` : ''}`, { timeout: TEST_TIMEOUT }, async () => {
    const r = await inPage(async (c) => {
      const a = R.nonLocalInputs(c);
      const { y, lse } = await kernels.forward(a);
      const dy = R.uniform(R.rng(c.seed + 1000), a.B * a.N * a.C);
      const got = await kernels.backward({ ...a, y, lse, dy });
      const want = R.nonLocalBackward({ ...a, dy });
      return { maxLogit: R.maxLogit(a), ...Object.fromEntries(['dtheta', 'dphi', 'dg'].map((k) => [k, R.compare(got[k], want[k])])) };
    }, c);
    if (c.logit) assert.ok(r.maxLogit >= 0.999 * c.logit, `the case must reach logits of ${c.logit}, max ${r.maxLogit}`);
    for (const k of ['dtheta', 'dphi', 'dg']) assertClose(r[k], TOL_BWD, k);
  });
}

const ROWS = [
  { B: 2, N: 130, C: 33, seed: 21, idx: [0, 129, 65, 65] },
  { B: 1, N: 1600, C: 64, seed: 22, idx: [0, 1599, 820] },
  { B: 1, N: 1, C: 1, seed: 23, idx: [0] },
  { B: 1, N: 300, C: 16, seed: 24, logit: 60, idx: [0, 299, 150] },
];

for (const c of ROWS) {
  test(`attention rows B=${c.B} N=${c.N} C=${c.C} pixels ${c.idx}${c.logit ? ` logits +-${c.logit}` : ''}`, { timeout: TEST_TIMEOUT }, async () => {
    const r = await inPage(async (c) => {
      const a = { ...R.nonLocalInputs(c), idx: Uint32Array.from(c.idx) };
      const got = await kernels.rows(a);
      const want = R.attentionRows(a);
      const sums = [];
      for (let k = 0; k < got.length; k += a.N) sums.push(got.subarray(k, k + a.N).reduce((s, v) => s + v, 0));
      return { maxLogit: R.maxLogit(a), rows: R.compare(got, want), sums };
    }, c);
    if (c.logit) assert.ok(r.maxLogit >= 0.999 * c.logit, `the case must reach logits of ${c.logit}, max ${r.maxLogit}`);
    assertClose(r.rows, TOL_ROWS, 'rows');
    assert.equal(r.sums.length, c.B * c.idx.length, 'one row per batch and pixel');
    // Each row is a softmax: N f32 terms in [0, 1] sum to 1 within N eps.
    r.sums.forEach((s, k) => assert.ok(Math.abs(s - 1) <= 1e-4, `row ${k} sums to ${s}, not 1`));
  });
}

// --- the sampler ----------------------------------------------------------------------------------

/** Runs the sampler kernel and the reference on boxes (arrays of [x1, y1, x2, y2]). */
const samplerCase = (proposals, gts, K, negThr) => inPage(async ({ proposals, gts, K, negThr }) => {
  const args = { proposals: Float32Array.from(proposals.flat()), gts: Float32Array.from(gts.flat()), K, negThr };
  const got = await kernels.sampler(args);
  const want = R.sampler(args);
  return {
    got: { maxIou: [...got.maxIou], argmax: [...got.argmax], hist: [...got.hist] },
    want: { maxIou: [...want.maxIou], argmax: [...want.argmax], hist: [...want.hist] },
    ious: want.ious,
    iou: R.compare(got.maxIou, want.maxIou),
  };
}, { proposals, gts, K, negThr });

/**
 * Asserts the kernel's sampler statistics equal the reference's: max IoU within TOL_IOU, argmax and
 * histogram exactly. Exact comparisons need unambiguous inputs, asserted first unless `exact`
 * (hand-made, exactly representable IoUs): no max IoU within 1e-5 of a bin edge or neg_thr, no
 * second-best GT within 1e-5 of the best unless bit-identical (a true tie, lowest index).
 */
function assertSampler(r, K, negThr, label, { exact = false } = {}) {
  if (!exact) {
    const edges = Array.from({ length: K }, (_, k) => ((k + 1) / K) * negThr);
    r.want.maxIou.forEach((v, p) => {
      assert.ok(edges.every((e) => Math.abs(v - e) > 1e-5), `${label}: proposal ${p}'s IoU ${v} is ambiguous (at a bin edge)`);
      const close = r.ious[p].filter((u) => u !== v && Math.abs(u - v) <= 1e-5);
      assert.equal(close.length, 0, `${label}: proposal ${p} has near-ties ${close} with its best IoU ${v}`);
    });
  }
  assertClose(r.iou, TOL_IOU, `${label}: max IoU`);
  const wrong = r.got.argmax.flatMap((g, p) => (g === r.want.argmax[p] ? [] : [`proposal ${p}: ${g}, expected ${r.want.argmax[p]}`]));
  assert.deepEqual(wrong.slice(0, 10), [], `${label}: argmax differs for ${wrong.length} proposals`);
  assert.deepEqual(r.got.hist, r.want.hist, `${label}: negatives per IoU bin`);
  console.log(`${label}: hist ${JSON.stringify(r.got.hist)}`);
}

/** Seeded random boxes in a w x h image: n boxes of sides 8..200. */
function randomBoxes(n, seed, w = 640, h = 640) {
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  return Array.from({ length: n }, () => {
    const [bw, bh] = [8 + 192 * rand(), 8 + 192 * rand()];
    const [x, y] = [rand() * (w - bw), rand() * (h - bh)];
    return [x, y, x + bw, y + bh].map(Math.fround);
  });
}

/** n proposals jittered around `box` by up to +-spread pixels per side. */
function jittered(box, n, spread, seed) {
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 22695477) + 1) >>> 0; return s / 4294967296; };
  return Array.from({ length: n }, () => {
    const [x1, y1, x2, y2] = box.map((v) => v + spread * (2 * rand() - 1));
    return [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)].map(Math.fround);
  });
}

test('sampler: one GT, proposals around it and elsewhere', { timeout: TEST_TIMEOUT }, async () => {
  const gt = [100, 100, 200, 220];
  const r = await samplerCase([...jittered(gt, 500, 60, 31), ...randomBoxes(100, 32)], [gt], 3, 0.5);
  assertSampler(r, 3, 0.5, 'one GT');
  assert.ok(r.got.argmax.every((g) => g === 0), 'one GT: every proposal is assigned to GT 0');
  assert.ok(r.got.hist.every((n) => n > 0), `one GT: the case must fill every bin: ${r.got.hist}`);
  assert.ok(r.got.maxIou.some((v) => v >= 0.5), 'one GT: the case must have positives');
});

test('sampler: no GT: max IoU 0, argmax -1, every proposal a negative of bin 0', { timeout: TEST_TIMEOUT }, async () => {
  const props = randomBoxes(300, 41);
  const r = await samplerCase(props, [], 3, 0.5);
  assertSampler(r, 3, 0.5, 'no GT', { exact: true });
  assert.ok(r.got.maxIou.every((v) => v === 0), 'no GT: max IoU 0');
  assert.ok(r.got.argmax.every((g) => g === -1), 'no GT: argmax -1');
  assert.deepEqual(r.got.hist, [300, 0, 0]);
});

test('sampler: all IoU 0: argmax is GT 0 (the lowest index of the tie)', { timeout: TEST_TIMEOUT }, async () => {
  const props = randomBoxes(300, 51, 600, 600); // inside [0, 600]^2; the GT boxes lie beyond
  const gts = [[700, 700, 800, 800], [610, 0, 640, 640], [0, 605, 640, 640], [600, 600, 640, 640]];
  const r = await samplerCase(props, gts, 4, 0.4);
  assertSampler(r, 4, 0.4, 'all IoU 0', { exact: true });
  assert.ok(r.got.maxIou.every((v) => v === 0) && r.got.argmax.every((g) => g === 0), 'all IoU 0: max 0 and argmax 0 everywhere');
  assert.deepEqual(r.got.hist, [300, 0, 0, 0]);
});

test('sampler: proposals identical to GT boxes: IoU 1; duplicated GT boxes go to the lower index', { timeout: TEST_TIMEOUT }, async () => {
  const gts = randomBoxes(6, 61);
  gts[4] = [...gts[1]]; // a duplicate of GT 1: proposals equal to it tie between 1 and 4
  const props = [...gts, ...gts.map((b) => [...b]), [0, 0, 0, 0], [1000, 1000, 1010, 1010]]; // plus an empty box and a far one
  const r = await samplerCase(props, gts, 3, 0.5);
  assertSampler(r, 3, 0.5, 'identical boxes', { exact: true });
  for (let p = 0; p < 12; p++) {
    assert.ok(Math.abs(r.got.maxIou[p] - 1) <= TOL_IOU, `proposal ${p}: IoU ${r.got.maxIou[p]} with its twin, not 1`);
    assert.equal(r.got.argmax[p], p % 6 === 4 ? 1 : p % 6, `proposal ${p}'s GT`);
  }
  assert.deepEqual([r.got.maxIou[12], r.got.maxIou[13]], [0, 0], 'the empty and the far proposal have IoU 0');
  assert.deepEqual(r.got.hist, [2, 0, 0]);
});

test('sampler: many boxes (P = 2000, G = 50)', { timeout: TEST_TIMEOUT }, async () => {
  const gts = randomBoxes(50, 71);
  const props = [...randomBoxes(1200, 72), ...gts.flatMap((g, k) => jittered(g, 16, 30, 100 + k))];
  assert.equal(props.length, 2000);
  const r = await samplerCase(props, gts, 3, 0.5);
  assertSampler(r, 3, 0.5, 'P 2000 G 50');
  assert.ok(r.got.hist.every((n) => n > 0), `P 2000 G 50: every bin must be used: ${r.got.hist}`);
  assert.ok(new Set(r.got.argmax).size > 40, 'P 2000 G 50: proposals go to many GT boxes');
});

test('sampler: IoUs exactly on bin edges go to the upper bin; IoU = neg_thr is no negative', { timeout: TEST_TIMEOUT }, async () => {
  // GT 4 x 4 (area 16), proposals [0, 0, 4, h]: IoU = h / 4, exact in f32. neg_thr 0.5, K = 4: edges 0.125, 0.25, 0.375.
  const hs = [0, 0.4999, 0.5, 1, 1.5, 1.999, 2, 4];
  const r = await samplerCase(hs.map((h) => [0, 0, 4, h]), [[0, 0, 4, 4]], 4, 0.5);
  assertSampler(r, 4, 0.5, 'bin edges', { exact: true });
  assert.deepEqual(r.got.maxIou.slice(2, 5).concat(r.got.maxIou[6], r.got.maxIou[0]), [0.125, 0.25, 0.375, 0.5, 0], 'IoUs exactly on the edges');
  assert.deepEqual(r.got.hist, [2, 1, 1, 2], 'bins: {0, 0.124975}, {0.125}, {0.25}, {0.375, 0.49975}');
});

// --- the runner's limit checks --------------------------------------------------------------------

test('limits: C > 256, a materialised N x N over maxStorageBufferBindingSize, a device with little workgroup storage', { timeout: TEST_TIMEOUT }, async () => {
  const r = await inPage(async () => {
    const { Kernels } = await import('/tests/kernels/runner.mjs');
    const error = async (fn) => { try { await fn(); return null; } catch (e) { return e.message; } };
    const small = (B, N, C) => ({ B, N, C, scale: 1, theta: new Float32Array(B * N * C), phi: new Float32Array(B * N * C), g: new Float32Array(B * N * C) });
    const limits = {};
    for (const k in kernels.device.limits) limits[k] = kernels.device.limits[k];
    const tiny = new Kernels({ limits: { ...limits, maxComputeWorkgroupStorageSize: 8192 } });
    return {
      bindingLimit: limits.maxStorageBufferBindingSize,
      wideC: await error(() => kernels.forward(small(1, 4, 257))),
      unfused: await error(() => kernels.unfused(small(1, 6400, 16))),
      fused: await error(() => kernels.forward(small(1, 6400, 1))),
      tinyWorkgroup: await error(() => tiny.forward(small(1, 4, 4))),
    };
  });
  assert.match(String(r.wideC), /C = 257 exceeds the kernels' MAX_C = 256/);
  assert.ok(4 * 6400 * 6400 > r.bindingLimit, `the device allows ${r.bindingLimit}-byte bindings: the case needs a larger A`);
  assert.match(String(r.unfused), /buffer a needs maxStorageBufferBindingSize >= 163840000, the device allows \d+/);
  assert.equal(r.fused, null, 'the fused kernel runs N = 6400 within the default limits');
  assert.match(String(r.tinyWorkgroup), /needs maxComputeWorkgroupStorageSize >= 12416, the device allows 8192/);
});

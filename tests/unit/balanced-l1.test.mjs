// The Balanced L1 view (paper Fig. 5): the tests' own formulas (balanced-l1-reference.mjs) against
// hand-computed values and against each other (the gradient is the loss's derivative), and the
// view's data helpers (web/teach/balanced-l1-curves.js): request, checks, series, read-out and the
// latest-only request queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, LatestOnly, POINTS, RANGES, X_MAX, bOf, chartSeries, checkCurves, curvesRequest, fmt, indexOf, labels, readout, valueAt } from '../../web/teach/balanced-l1-curves.js';
import * as ref from './balanced-l1-reference.mjs';

const near = (actual, expected, tol, label) => assert.ok(Math.abs(actual - expected) <= tol, `${label}: ${actual}, expected ${expected} (±${tol})`);

test('reference formulas at alpha 0.5, gamma 1.5, beta 1: the hand-computed points', () => {
  const [a, g] = [0.5, 1.5];
  // b = e^3 - 1 = 20.085537 - 1.
  near(ref.bOf(a, g), 19.085537, 1e-6, 'b');
  near(bOf(a, g), 19.085537, 1e-6, 'b of the caption');
  // loss(1), inner branch: (0.5 / 19.0855)(20.0855) ln(20.0855) - 0.5 = 0.5 * 3 * 1.0523963 - 0.5 = 1.0785945;
  // outer branch: 1.5 + 1.5 / 19.0855 - 0.5 = 1.0785935.
  const b = 19.085536923;
  near((a / b) * (b + 1) * Math.log(b + 1) - a, 1.0786, 1e-4, 'loss(1) from below');
  near(ref.balancedL1(1, a, g), 1.0786, 1e-4, 'loss(1) (outer branch)');
  near(ref.balancedL1(1 - 1e-9, a, g), 1.0786, 1e-4, 'loss(1-) (inner branch)');
  // x = 0: (alpha / b) * 1 * ln 1 - 0 = 0; x = 0.5: 0.0261979 * 10.54277 * 2.355440 - 0.25 = 0.400568;
  // x = 2: 3 + 0.0785935 - 0.5 = 2.5785935.
  near(ref.balancedL1(0, a, g), 0, 1e-12, 'loss(0)');
  near(ref.balancedL1(0.5, a, g), 0.400568, 1e-5, 'loss(0.5)');
  near(ref.balancedL1(2, a, g), 2.5785935, 1e-6, 'loss(2)');
  // Gradient: alpha ln(b x + 1): at 1- = 0.5 ln(e^3) = 1.5 = gamma; at 0.5: 0.5 ln(10.54277) = 1.177720.
  near(ref.balancedL1Grad(1 - 1e-9, a, g), 1.5, 1e-6, 'grad(1-)');
  near(ref.balancedL1Grad(1, a, g), 1.5, 0, 'grad(1)');
  near(ref.balancedL1Grad(2, a, g), 1.5, 0, 'grad(2)');
  near(ref.balancedL1Grad(0.5, a, g), 1.177720, 1e-6, 'grad(0.5)');
  near(ref.balancedL1Grad(0, a, g), 0, 0, 'grad(0)');
  // Smooth L1 (beta 1): 0.5 x^2 inside, x - 0.5 outside.
  near(ref.smoothL1(0.5), 0.125, 0, 'smooth loss(0.5)');
  near(ref.smoothL1Grad(0.5), 0.5, 0, 'smooth grad(0.5)');
  near(ref.smoothL1(2), 1.5, 0, 'smooth loss(2)');
  near(ref.smoothL1Grad(2), 1, 0, 'smooth grad(2)');
  near(ref.smoothL1(1), 0.5, 0, 'smooth loss(1)');
});

test('reference formulas at alpha 0.3, gamma 2: hand-computed points', () => {
  const [a, g] = [0.3, 2];
  // b = e^(20/3) - 1 = 785.77199 - 1.
  near(ref.bOf(a, g), 784.77199, 1e-4, 'b');
  // x = 0.5: b x + 1 = 393.38600, ln = 5.974792; grad 0.3 * 5.974792 = 1.792437;
  // loss (0.3 / 784.772)(393.386)(5.974792) - 0.15 = 0.748503.
  near(ref.balancedL1Grad(0.5, a, g), 1.792437, 1e-6, 'grad(0.5)');
  near(ref.balancedL1(0.5, a, g), 0.748503, 1e-6, 'loss(0.5)');
  // x = 1: 2 + 2 / 784.772 - 0.3 = 1.702549 from both branches; x = 2: 4 + 0.002549 - 0.3 = 3.702549.
  near(ref.balancedL1(1, a, g), 1.702549, 1e-6, 'loss(1)');
  near(ref.balancedL1(1 - 1e-9, a, g), 1.702549, 1e-6, 'loss(1-)');
  near(ref.balancedL1(2, a, g), 3.702549, 1e-6, 'loss(2)');
  near(ref.balancedL1Grad(1 - 1e-9, a, g), 2, 1e-6, 'grad(1-) = gamma');
});

test('reference: the gradient is the loss\'s derivative, the loss its integral, continuous at x = 1', () => {
  for (const [a, g] of [[0.5, 1.5], [0.3, 2], [1, 0.5], [0.1, 3]]) {
    for (const x of [0.05, 0.3, 0.5, 0.9, 1.5, 2.5]) {
      const h = 1e-6;
      const numeric = (ref.balancedL1(x + h, a, g) - ref.balancedL1(x - h, a, g)) / (2 * h);
      near(numeric, ref.balancedL1Grad(x, a, g), 1e-4, `alpha ${a}, gamma ${g}: dL/dx at ${x}`);
      near((ref.smoothL1(x + h) - ref.smoothL1(x - h)) / (2 * h), ref.smoothL1Grad(x), 1e-6, `smooth L1 dL/dx at ${x}`);
    }
    // Simpson's rule over [0, 1] of the gradient = loss(1).
    const n = 200_000;
    let sum = 0;
    for (let i = 0; i <= n; i++) sum += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * ref.balancedL1Grad(Math.min(i / n, 1 - 1e-12), a, g);
    near(sum / (3 * n), ref.balancedL1(1, a, g), 1e-5, `alpha ${a}, gamma ${g}: integral of the gradient`);
    near(ref.balancedL1(1 - 1e-12, a, g), ref.balancedL1(1, a, g), 1e-8, `alpha ${a}, gamma ${g}: continuous at 1`);
    near(ref.balancedL1Grad(1 - 1e-12, a, g), g, 1e-8, `alpha ${a}, gamma ${g}: the gradient reaches gamma at 1`);
  }
});

test('defaults, ranges and the request: alpha 0.5, gamma 1.5, beta 1, x in [0, 3] at 301 points', () => {
  assert.deepEqual({ ...DEFAULTS }, { alpha: 0.5, gamma: 1.5, beta: 1 });
  assert.deepEqual([RANGES.alpha.min, RANGES.alpha.max, RANGES.gamma.min, RANGES.gamma.max], [0.1, 1, 0.5, 3]);
  assert.deepEqual(curvesRequest({ alpha: 0.3, gamma: 2 }), { alpha: 0.3, gamma: 2, beta: 1, xMax: X_MAX, points: POINTS });
  assert.equal(X_MAX, 3);
  assert.equal(POINTS, 301); // step 0.01: x = 0.5, 1, 2 are grid points
  assert.deepEqual([0.5, 1.5, 0.35, 0.30000000000000004, 1, 0, 2.125].map(fmt), ['0.5', '1.5', '0.35', '0.3', '1', '0', '2.13']);
});

const grid = (alpha, gamma, n = 7, xMax = 3) => {
  const x = Array.from({ length: n }, (_, i) => (xMax * i) / (n - 1));
  const curves = { x, balanced_l1: [], balanced_l1_grad: [], smooth_l1: [], smooth_l1_grad: [] };
  for (const v of x) for (const [k, y] of Object.entries(ref.expected(v, alpha, gamma))) curves[k].push(y);
  return curves;
};

test('checkCurves accepts the loss_curves JSON and refuses broken ones', () => {
  const good = grid(0.5, 1.5);
  assert.equal(checkCurves(good), good);
  assert.throws(() => checkCurves(null), /no curves/);
  assert.throws(() => checkCurves({ ...good, smooth_l1: good.smooth_l1.slice(1) }), /"smooth_l1" is not a list of 7 values/);
  assert.throws(() => checkCurves({ ...good, balanced_l1_grad: undefined }), /"balanced_l1_grad"/);
  assert.throws(() => checkCurves({ ...good, balanced_l1: [...good.balanced_l1.slice(1), null] }), /not numbers/);
  assert.throws(() => checkCurves({ x: [0], balanced_l1: [0], balanced_l1_grad: [0], smooth_l1: [0], smooth_l1_grad: [0] }), /not a list/);
});

test('values are read at the nearest grid x', () => {
  const c = grid(0.5, 1.5); // x = 0, 0.5, ..., 3
  assert.deepEqual([0, 0.5, 0.74, 0.76, 1, 2, 3, 9, -1].map((x) => indexOf(c, x)), [0, 1, 1, 2, 2, 4, 6, 6, 0]);
  assert.equal(valueAt(c, 'smooth_l1', 0.5), 0.125);
  assert.equal(valueAt(c, 'balanced_l1_grad', 2), 1.5);
});

test('the charts\' series are the curves\' own arrays, Balanced L1 first, labelled with the values', () => {
  const c = grid(0.3, 2);
  const s = chartSeries(c, { alpha: 0.3, gamma: 2, beta: 1 });
  assert.deepEqual(s.loss.map((d) => d.key), ['balanced', 'smooth']);
  assert.equal(s.loss[0].data, c.balanced_l1);
  assert.equal(s.loss[1].data, c.smooth_l1);
  assert.equal(s.gradient[0].data, c.balanced_l1_grad);
  assert.equal(s.gradient[1].data, c.smooth_l1_grad);
  assert.deepEqual(labels({ alpha: 0.3, gamma: 2, beta: 1 }), { balanced: 'Balanced L1 (α = 0.3, γ = 2)', smooth: 'Smooth L1 (β = 1, Faster R-CNN)' });
  assert.equal(s.gradient[0].label, 'Balanced L1 (α = 0.3, γ = 2)');
  assert.notEqual(s.loss[0].colour, s.loss[1].colour);
});

test('the read-out: an inlier at 0.5 gets more gradient from Balanced L1, an outlier at 2 is capped at gamma', () => {
  const r = readout(grid(0.5, 1.5), { beta: 1 });
  assert.equal(r.inlier, 0.5);
  assert.equal(r.outlier, 2);
  near(r.inlierGrad.balanced, 1.177720, 1e-6, 'balanced inlier gradient');
  assert.equal(r.inlierGrad.smooth, 0.5);
  assert.deepEqual(r.outlierGrad, { balanced: 1.5, smooth: 1 });
});

/** A run whose answers the test releases: run.calls lists the params, run.release(i, value | Error). */
function manualRun() {
  const pending = [];
  const run = (params) => new Promise((resolve, reject) => {
    run.calls.push(params);
    pending.push({ resolve, reject });
  });
  run.calls = [];
  run.release = async (i, value) => {
    if (value instanceof Error) pending[i].reject(value);
    else pending[i].resolve(value);
    for (let k = 0; k < 5; k++) await Promise.resolve(); // let the queue move on
  };
  return run;
}

test('LatestOnly: one run at a time; requests made meanwhile collapse into the latest', async () => {
  const run = manualRun();
  const q = new LatestOnly(run);
  assert.equal(q.busy, false);
  const first = q.request({ alpha: 0.5 });
  assert.equal(q.busy, true);
  const mid = [0.45, 0.4, 0.35].map((alpha) => q.request({ alpha }));
  const last = q.request({ alpha: 0.3 });
  assert.deepEqual(run.calls, [{ alpha: 0.5 }], 'one run in flight');
  for (const p of mid) assert.deepEqual(await p, { params: { alpha: p === mid[0] ? 0.45 : p === mid[1] ? 0.4 : 0.35 }, superseded: true });
  await run.release(0, 'curves 0.5');
  assert.deepEqual(await first, { params: { alpha: 0.5 }, superseded: true }, 'a newer request waits: the first answer is stale');
  assert.deepEqual(run.calls, [{ alpha: 0.5 }, { alpha: 0.3 }], 'then only the latest runs');
  assert.equal(q.busy, true);
  await run.release(1, 'curves 0.3');
  assert.deepEqual(await last, { params: { alpha: 0.3 }, result: 'curves 0.3' });
  assert.equal(q.busy, false);
});

test('LatestOnly: a failure reaches the latest request, and the queue keeps working after it', async () => {
  const run = manualRun();
  const q = new LatestOnly(run);
  const bad = q.request({ alpha: 0 });
  const error = new Error('loss curves need alpha > 0');
  await run.release(0, error);
  assert.deepEqual(await bad, { params: { alpha: 0 }, error });
  assert.equal(q.busy, false);
  const good = q.request({ alpha: 0.5 });
  await run.release(1, 'ok');
  assert.deepEqual(await good, { params: { alpha: 0.5 }, result: 'ok' });
  // A synchronous throw is a failure too.
  const q2 = new LatestOnly(() => { throw new Error('boom'); });
  assert.equal((await q2.request({})).error.message, 'boom');
  assert.equal(q2.busy, false);
});

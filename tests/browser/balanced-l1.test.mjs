// "Balanced L1" (the dataset section's loss view, paper Fig. 5) on the CPU backend: the curves the
// page gets from the trainer's Rust formulas (in the detector worker) against the tests' own
// formulas (../unit/balanced-l1-reference.mjs) at hand-computed points and over the whole grid,
// for the defaults and after moving the sliders with the keyboard; the charts show exactly those
// values; rapid changes collapse into the latest; invalid values give a message, not a dead card.
// The page contract used: #balanced-l1 (data-l1-state), #l1-*, #message, window.libraApp.lossCurves,
// window.libraDataset (balancedL1View, setBalancedL1) and the Chart.js charts on #l1-loss-chart, #l1-grad-chart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launch, onNewPage, clearMessage, waitForMessage, ARTIFACTS, LOAD_MS, DETECT_MS, TEST_TIMEOUT } from './harness.mjs';
import { balancedL1, expected } from '../unit/balanced-l1-reference.mjs';

const POINTS = 301; // x = 0, 0.01, ..., 3
const HAND_X = [0, 0.5, 1, 2];
const TOL = 1e-4;
const KEYS = ['balanced_l1', 'balanced_l1_grad', 'smooth_l1', 'smooth_l1_grad'];

let server;
let browser;
before(async () => { server = await startServer(); browser = await launch({ webgpu: false }); });
after(async () => { await browser?.close(); server?.stop(); });

const view = (page) => page.evaluate(() => window.libraDataset.balancedL1View);
const calls = (page) => page.evaluate(() => window.l1Calls);
const cardState = (page) => page.getAttribute('#balanced-l1', 'data-l1-state');

/** Waits until the card settles (done or error) showing `alpha`, `gamma` (or any values when null). */
async function settled(page, { alpha = null, gamma = null } = {}, ms = LOAD_MS + DETECT_MS) {
  try {
    await page.waitForFunction(([a, g]) => {
      const v = window.libraDataset?.balancedL1View;
      if (!v || !['done', 'error'].includes(v.state)) return false;
      return v.state === 'error' || a === null || (Math.abs(v.drawn?.alpha - a) < 1e-9 && Math.abs(v.drawn?.gamma - g) < 1e-9);
    }, [alpha, gamma], { timeout: ms, polling: 100 });
  } catch (e) {
    throw new Error(`the Balanced L1 card did not settle on alpha ${alpha}, gamma ${gamma} within ${ms} ms: ${JSON.stringify({ ...(await view(page)), curves: undefined })}`);
  }
  return view(page);
}

/** Asserts the page's curves against the reference: the hand-computed points, every grid point, continuity and the cap. */
function assertCurves(curves, alpha, gamma, label) {
  assert.equal(curves.x.length, POINTS, `${label}: ${POINTS} points`);
  for (const k of KEYS) assert.equal(curves[k].length, POINTS, `${label}: ${k} has ${POINTS} values`);
  assert.equal(curves.x[0], 0);
  assert.ok(Math.abs(curves.x[POINTS - 1] - 3) < 1e-6, `${label}: x ends at 3`);
  // The hand-computed points (grid points: x = i / 100).
  for (const x of HAND_X) {
    const i = Math.round(x * 100);
    assert.ok(Math.abs(curves.x[i] - x) < 1e-6, `${label}: x[${i}] = ${curves.x[i]}, not ${x}`);
    const want = expected(x, alpha, gamma);
    for (const k of KEYS) assert.ok(Math.abs(curves[k][i] - want[k]) <= TOL, `${label}: ${k}(${x}) = ${curves[k][i]}, expected ${want[k]}`);
  }
  // Every point of the grid (at the grid's own x, an f32).
  for (const k of KEYS) {
    const bad = curves.x.findIndex((x, i) => !(Math.abs(curves[k][i] - expected(x, alpha, gamma)[k]) <= TOL));
    assert.equal(bad, -1, `${label}: ${k} at x = ${curves.x[bad]} is ${curves[k][bad]}, expected ${bad >= 0 ? expected(curves.x[bad], alpha, gamma)[k] : ''}`);
  }
  // Continuous at x = 1: the outer branch's value there is the inner branch's limit, and the step
  // from x = 0.99 is no more than the gradient (at most gamma) allows.
  const at1 = curves.balanced_l1[100];
  assert.ok(Math.abs(at1 - balancedL1(1 - 1e-12, alpha, gamma)) <= TOL, `${label}: loss(1) = ${at1}, inner branch's limit ${balancedL1(1 - 1e-12, alpha, gamma)}`);
  assert.ok(Math.abs(at1 - curves.balanced_l1[99]) <= gamma * 0.01 + 1e-5, `${label}: loss jumps at 1: ${curves.balanced_l1[99]} -> ${at1}`);
  // The gradient is gamma for every x >= 1, and reaches it from below.
  curves.x.forEach((x, i) => {
    if (x >= 1) assert.ok(Math.abs(curves.balanced_l1_grad[i] - gamma) <= 1e-6, `${label}: gradient at x = ${x} is ${curves.balanced_l1_grad[i]}, not gamma ${gamma}`);
  });
  // Just below: alpha ln(0.99 b + 1) = gamma - alpha ln((b + 1) / (0.99 b + 1)), within 0.0101 alpha of gamma.
  const g99 = curves.balanced_l1_grad[99];
  assert.ok(g99 < gamma && gamma - g99 < 0.011 * alpha, `${label}: gradient at 0.99 ${g99} approaches gamma ${gamma} from below`);
}

/** The datasets (labels and data) and labels of the Chart.js chart on `id`. */
const chartOf = (page, id) => page.evaluate((id) => {
  const chart = globalThis.Chart?.getChart(document.getElementById(id));
  if (!chart) return null;
  return { labels: chart.data.labels, datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })), marker: chart.options.plugins.l1Marker?.x ?? null };
}, id);

/** Asserts both charts show `state`'s curves: same x, the four series' values, its labels and the marker at beta. */
async function assertCharts(page, state, label) {
  const { curves, drawn } = state;
  const loss = await chartOf(page, 'l1-loss-chart');
  const grad = await chartOf(page, 'l1-grad-chart');
  assert.ok(loss && grad, `${label}: Chart.js charts on #l1-loss-chart and #l1-grad-chart`);
  assert.deepEqual(drawn.datasets, [...loss.datasets, ...grad.datasets].map((d) => d.label), `${label}: drawn.datasets names the charts' datasets`);
  for (const [chart, keys] of [[loss, ['balanced_l1', 'smooth_l1']], [grad, ['balanced_l1_grad', 'smooth_l1_grad']]]) {
    assert.deepEqual(chart.labels, curves.x, `${label}: the charts' x are the curves' x`);
    assert.deepEqual(chart.datasets.map((d) => d.data), keys.map((k) => curves[k]), `${label}: the charts' data are the curves' ${keys}`);
    assert.equal(chart.marker, 1, `${label}: the marker at x = beta = 1`);
  }
  assert.match(drawn.datasets[0], new RegExp(`α = ${drawn.alpha}, γ = ${drawn.gamma}`));
  assert.match(drawn.datasets[1], /Smooth L1/);
}

/** Presses `key` `n` times on the slider `selector`. */
async function press(page, selector, key, n) {
  await page.focus(selector);
  for (let k = 0; k < n; k++) await page.keyboard.press(key);
}

test('Balanced L1 view: the Rust curves = the reference formulas, in the charts; sliders recompute; invalid values: a message', { timeout: TEST_TIMEOUT }, async () => {
  await onNewPage(browser, `${server.url}?backend=cpu`, 'balanced-l1', async (page) => {
    await page.waitForSelector('#dataset[data-dataset-ready="1"]', { timeout: 60_000 });
    // Count the requests to the detector.
    await page.waitForFunction(() => typeof window.libraApp?.lossCurves === 'function', null, { timeout: 60_000 });
    await page.evaluate(() => {
      const app = window.libraApp;
      const run = app.lossCurves;
      window.l1Calls = 0;
      app.lossCurves = (...args) => {
        window.l1Calls++;
        return run(...args);
      };
    });
    // Nothing is computed until the card is seen: it needs no photo.
    assert.equal(await cardState(page), 'idle');
    assert.equal(await calls(page), 0);
    await page.locator('#balanced-l1').scrollIntoViewIfNeeded();

    // The defaults: alpha 0.5, gamma 1.5, beta 1.
    let state = await settled(page, { alpha: 0.5, gamma: 1.5 });
    assert.equal(state.state, 'done', `the view failed: ${state.error} / ${await page.textContent('#message')}`);
    assert.equal(await cardState(page), 'done');
    assert.deepEqual([state.alpha, state.gamma, state.beta], [0.5, 1.5, 1]);
    assert.equal(await calls(page), 1, 'one request for the defaults');
    assert.deepEqual(await page.evaluate(() => ['l1-alpha-value', 'l1-gamma-value', 'l1-beta-value'].map((id) => document.getElementById(id).textContent)), ['0.5', '1.5', '1']);
    assertCurves(state.curves, 0.5, 1.5, 'alpha 0.5, gamma 1.5');
    // The hand-computed points once more, as literals: b = e^3 - 1 = 19.0855.
    const c = state.curves;
    assert.ok(Math.abs(c.balanced_l1[100] - 1.0786) < TOL, `loss(1) = ${c.balanced_l1[100]}`);
    assert.ok(Math.abs(c.balanced_l1[50] - 0.400568) < TOL, `loss(0.5) = ${c.balanced_l1[50]}`);
    assert.ok(Math.abs(c.balanced_l1[200] - 2.5785935) < TOL, `loss(2) = ${c.balanced_l1[200]}`);
    assert.ok(Math.abs(c.balanced_l1_grad[99] - 0.5 * Math.log(19.0855 * 0.99 + 1)) < TOL, `grad(0.99) = ${c.balanced_l1_grad[99]}`);
    assert.deepEqual([c.smooth_l1[50], c.smooth_l1_grad[50], c.balanced_l1_grad[100]], [0.125, 0.5, 1.5]);
    await assertCharts(page, state, 'defaults');
    assert.match(await page.textContent('#l1-readout'), /x = 0\.5 gets a gradient of 1\.18 from Balanced L1 against 0\.50 from smooth L1/);
    await page.locator('#balanced-l1').screenshot({ path: join(ARTIFACTS, 'balanced-l1-view.png') });

    // The sliders, with the keyboard (the dataset's arrow shortcuts must not take the keys):
    // alpha 0.5 -> 0.3 (4 steps of 0.05), gamma 1.5 -> 2 (5 steps of 0.1).
    await press(page, '#l1-alpha', 'ArrowLeft', 4);
    await press(page, '#l1-gamma', 'ArrowRight', 5);
    assert.deepEqual([await page.inputValue('#l1-alpha'), await page.inputValue('#l1-gamma')], ['0.3', '2']);
    state = await settled(page, { alpha: 0.3, gamma: 2 });
    assert.equal(state.state, 'done', `the view failed: ${state.error}`);
    assert.deepEqual([state.alpha, state.gamma, state.beta], [0.3, 2, 1]);
    assert.deepEqual(await page.evaluate(() => ['l1-alpha-value', 'l1-gamma-value'].map((id) => document.getElementById(id).textContent)), ['0.3', '2']);
    assertCurves(state.curves, 0.3, 2, 'alpha 0.3, gamma 2');
    await assertCharts(page, state, 'alpha 0.3, gamma 2');
    const n = await calls(page);
    assert.ok(n >= 2 && n <= 10, `one request per slider step at most: ${n}`);
    console.log(`balanced-l1: ${n - 1} requests for 9 slider steps`);

    // Rapid changes collapse: of five set at once, the first runs, then only the last.
    const made = await page.evaluate(async () => {
      const before = window.l1Calls;
      await Promise.all([0.9, 0.8, 0.7, 0.6, 0.45].map((alpha) => window.libraDataset.setBalancedL1({ alpha, gamma: 2.5 })));
      return window.l1Calls - before;
    });
    state = await settled(page, { alpha: 0.45, gamma: 2.5 });
    assert.equal(made, 2, 'five quick changes make two requests');
    assert.equal(state.state, 'done');
    assertCurves(state.curves, 0.45, 2.5, 'alpha 0.45, gamma 2.5');
    await assertCharts(page, state, 'alpha 0.45, gamma 2.5');

    // Invalid values, asked directly: the detector refuses them with an error.
    for (const bad of [{ alpha: 0, gamma: 1.5 }, { alpha: 0.5, gamma: -1 }, { alpha: 0.5, gamma: 1.5, points: 1 }]) {
      const refused = await page.evaluate((p) => window.libraApp.lossCurves({ beta: 1, xMax: 3, points: 301, ...p }).then(() => null, (e) => (e instanceof Error ? e.message : `not an Error: ${e}`)), bad);
      assert.match(refused ?? 'resolved', /loss curves need alpha, gamma, beta, x_max > 0 and 2..=10000 points/, `lossCurves(${JSON.stringify(bad)})`);
    }
    // Through the card (alpha 0 is below the slider's range): a message, the last curves stay, the card still works.
    await clearMessage(page);
    await page.evaluate(() => window.libraDataset.setBalancedL1({ alpha: 0 }));
    state = await settled(page);
    assert.equal(state.state, 'error');
    assert.equal(await cardState(page), 'error');
    assert.equal(state.alpha, 0);
    assert.match(state.error, /alpha, gamma, beta, x_max > 0/);
    assert.match(await waitForMessage(page, /Balanced L1/), /could not be computed for α = 0, γ = 2\.5: .*x_max > 0/);
    assert.match(await page.textContent('#l1-status'), /The charts still show α = 0\.45, γ = 2\.5/);
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready', 'the detector is fine');
    assert.deepEqual([state.drawn.alpha, state.drawn.gamma], [0.45, 2.5], 'the last curves stay drawn');
    await assertCharts(page, state, 'after the refusal');
    // The slider shows its lowest value (0.1); one step up is 0.15, and that works again.
    await press(page, '#l1-alpha', 'ArrowRight', 1);
    assert.equal(await page.inputValue('#l1-alpha'), '0.15');
    state = await settled(page, { alpha: 0.15, gamma: 2.5 });
    assert.equal(state.state, 'done', `no recovery: ${state.error}`);
    assert.equal(state.error, null);
    assertCurves(state.curves, 0.15, 2.5, 'alpha 0.15, gamma 2.5');
    await assertCharts(page, state, 'alpha 0.15, gamma 2.5');
    assert.equal((await page.textContent('#message')).trim(), '', 'the failure message is gone once the curves are drawn again');
  });
});

// "What the sampler picks" (the dataset section's sampling view, paper Fig. 3): a photo with two
// mouse-drawn GT boxes, the samplers run in the page's detector (CPU backend) and compared with
// the native CLI on the same boxes and seed; the sampler toggle redraws without recomputing; no
// photo or no boxes gives a message and no request.
// The page contract used: #dataset-add, #dataset-canvas, #sampling*, #message, window.libraApp
// and window.libraDataset (samplingView).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startServer, launch, onNewPage, waitForMessage, clearMessage, dragOnDataset, nativeSampling, assertClose, assertSamplingLikeNative, ARTIFACTS, SAMPLES, LOAD_MS, DETECT_MS, TEST_TIMEOUT,
} from './harness.mjs';

const PHOTO = 'scene_0000.png';
// Its two objects (web/samples/annotations.json, COCO [x, y, w, h] = [88, 71, 184, 142] and [195, 187, 66, 68]).
const GT = [[88, 71, 272, 213], [195, 187, 261, 255]];
const SEED = 3;
const NEAR_PX = 2; // mouse positions land within this many image pixels

let server;
let browser;
before(async () => { server = await startServer(); browser = await launch({ webgpu: false }); });
after(async () => { await browser?.close(); server?.stop(); });

const samplingState = (page) => page.evaluate(() => window.libraDataset.samplingView);
const calls = (page) => page.evaluate(() => window.samplingCalls);

/** Draws a box from corner to corner; Shift starts it even inside another box. */
const drawBox = (page, [x1, y1, x2, y2]) => dragOnDataset(page, [x1, y1], [x2, y2], { shift: true });

/** Presses Enter in the seed field (the show button is disabled): the page must say why and ask nothing. */
async function tryShow(page) {
  await clearMessage(page);
  await page.locator('#sampling-seed').press('Enter');
}

const sorted = (list) => [...list].sort((a, b) => a - b);

test('sampling view: page = native CLI on the drawn boxes; toggle redraws; no photo or boxes: a message', { timeout: TEST_TIMEOUT }, async () => {
  await onNewPage(browser, `${server.url}?backend=cpu`, 'sampling', async (page) => {
    await page.waitForSelector('#dataset[data-dataset-ready="1"]', { timeout: 60_000 });
    // Count the requests to the detector.
    await page.evaluate(() => {
      const app = window.libraApp;
      const run = app.samplingView;
      window.samplingCalls = 0;
      app.samplingView = (...args) => {
        window.samplingCalls++;
        return run(...args);
      };
    });
    assert.equal(await page.getAttribute('#sampling', 'data-sampling-state'), 'idle');

    // No photo, then a photo without boxes: the button is disabled and Enter gets a message, no request.
    assert.ok(await page.isDisabled('#sampling-show'), 'no photo: the button is disabled');
    await tryShow(page);
    assert.match(await waitForMessage(page, /photo/), /Add a photo/);
    await page.setInputFiles('#dataset-add', { name: PHOTO, mimeType: 'image/png', buffer: readFileSync(join(SAMPLES, PHOTO)) });
    await page.waitForFunction(() => window.libraDataset.images.length === 1 && window.libraDataset.pictureReady, null, { timeout: 30_000 });
    assert.ok(await page.isDisabled('#sampling-show'), 'no boxes: the button is disabled');
    assert.match(await page.textContent('#sampling-status'), /at least one box/);
    await tryShow(page);
    assert.match(await waitForMessage(page, /box/), /Draw at least one box on scene_0000\.png/);
    assert.equal(await calls(page), 0, 'no request without a photo with boxes');
    assert.equal(await page.getAttribute('#sampling', 'data-sampling-state'), 'idle');

    // The two GT boxes, drawn with the mouse (the second one starts inside the first).
    for (const box of GT) await drawBox(page, box);
    const drawn = await page.evaluate(() => window.libraDataset.images[0].boxes.map((b) => b.bbox));
    assert.equal(drawn.length, 2, `two boxes drawn, got ${JSON.stringify(drawn)}`);
    drawn.forEach((b, i) => assert.ok(b.every((v, k) => Math.abs(v - GT[i][k]) <= NEAR_PX), `box ${i}: expected about [${GT[i]}], got [${b}]`));

    // The view for seed 3.
    await clearMessage(page);
    await page.fill('#sampling-seed', String(SEED));
    await page.click('#sampling-show');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('sampling').dataset.samplingState), null, { timeout: LOAD_MS + DETECT_MS, polling: 250 });
    assert.equal(await page.getAttribute('#sampling', 'data-sampling-state'), 'done', `the sampling view failed: ${await page.textContent('#message')}`);
    assert.equal(await calls(page), 1);
    assert.doesNotMatch(await page.textContent('#message'), /sampler picks/, 'no failure message after a good run');
    const state = await samplingState(page);
    assert.deepEqual(state.boxes, drawn, 'the view is for the boxes as drawn');
    assert.equal(state.seed, SEED);
    assert.equal(state.imageId, await page.evaluate(() => window.libraDataset.current));
    const view = state.view;
    await page.locator('#sampling').screenshot({ path: join(ARTIFACTS, 'sampling-view.png') });

    // The native CLI on the page's own boxes gives the same candidates and the same picks.
    const native = await nativeSampling(join(SAMPLES, PHOTO), state.boxes, SEED);
    console.log(`sampling: ${view.candidates.length} candidates; hard share: all ${view.hard_share.toFixed(3)}, random ${view.random.hard_share.toFixed(3)} (native ${native.random.hard_share.toFixed(3)}), balanced ${view.balanced.hard_share.toFixed(3)} (native ${native.balanced.hard_share.toFixed(3)})`);
    assert.equal(view.num_gt, 2);
    assert.equal(native.num_gt, 2);
    assert.equal(view.seed, SEED);
    assertSamplingLikeNative(view, native);
    assert.ok(view.balanced.hard_share > view.random.hard_share, `IoU-balanced sampling gives more hard negatives: ${view.balanced.hard_share} vs random ${view.random.hard_share}`);

    // The hard shares as numbers, and the three histograms as shares in the chart.
    const shown = await page.$$eval('#sampling-hard dd', (dds) => dds.map((d) => d.textContent));
    assert.deepEqual(shown, [view.hard_share, view.random.hard_share, view.balanced.hard_share].map((v) => `${Math.round(v * 100)}%`));
    const series = await page.evaluate(() => globalThis.Chart?.getChart(document.getElementById('sampling-chart'))?.data.datasets.map((d) => d.data) ?? null);
    assert.ok(series, 'a Chart.js chart on #sampling-chart');
    [view.histogram, view.random.histogram, view.balanced.histogram].forEach((h, k) => {
      const total = h.reduce((a, b) => a + b, 0);
      assertClose(series[k], h.map((c) => c / total), 1e-9, `chart series ${k}`);
    });

    // The toggle switches what is drawn, without a new request.
    assert.equal(state.sampler, 'balanced');
    assert.equal(state.drawn.sampler, 'balanced');
    assert.deepEqual(sorted(state.drawn.neg), sorted(view.balanced.sampled.neg));
    assert.deepEqual(sorted(state.drawn.pos), sorted(view.balanced.sampled.pos));
    const pixels = () => page.evaluate(() => document.getElementById('sampling-canvas').toDataURL());
    const before = await pixels();
    await page.check('input[name="sampling-sampler"][value="random"]');
    const toggled = await samplingState(page);
    assert.equal(toggled.sampler, 'random');
    assert.equal(toggled.drawn.sampler, 'random');
    assert.deepEqual(sorted(toggled.drawn.neg), sorted(view.random.sampled.neg));
    assert.deepEqual(sorted(toggled.drawn.pos), sorted(view.random.sampled.pos));
    assert.notDeepEqual(sorted(toggled.drawn.neg), sorted(view.balanced.sampled.neg), 'the two samplers pick different negatives');
    assert.notEqual(await pixels(), before, 'the canvas changes with the sampler');
    assert.deepEqual(toggled.view, view, 'the toggle keeps the result');
    assert.equal(await calls(page), 1, 'the toggle does not recompute');
    await page.check('#sampling-all');
    const withAll = await samplingState(page);
    assert.equal(withAll.drawn.colours.length, view.candidates.length + toggled.drawn.colours.length, 'all candidates drawn behind');
  });
});
